"""Shared subscription execution: one execution per published value, each caller its own scope.

A real uvicorn, real WebSocket clients, real Redis and PostgreSQL; the feeds are read from the
server's event loop to count executions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devices.live import channels, keys, store
from graphql_api import feeds
from tests import live_values
from tests.conftest import token_for
from tests.devices.factories import HomeFactory
from tests.graphql_api.live_server import LiveServer, RawClient, live_server

pytestmark = pytest.mark.django_db(transaction=True)

ENERGY_STATS = """
subscription EnergyStats($homeId: ID) {
  energyStats(homeId: $homeId) { homeId productionW stale }
}
"""


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with live_server() as running:
        yield running


def stats(production_w: float) -> dict[str, Any]:
    now = time.time()
    return {
        "production_w": production_w,
        "consumption_w": 500.0,
        "storage_flow_w": 0.0,
        "net_grid_flow_w": 500.0 - production_w,
        "self_sufficiency": 0.5,
        "ts": now,
        "until": now + 120,
    }


def server_feeds(server: LiveServer) -> feeds.Feeds:
    assert server.loop is not None
    found = feeds._feeds.get(server.loop)
    assert found is not None
    return found


async def subscribed(server: LiveServer, token: str, variables: dict[str, Any] | None) -> RawClient:
    client = await RawClient.connect(server.url)
    assert (await client.init(token))["type"] == "connection_ack"
    await client.subscribe("1", ENERGY_STATS, variables)
    assert (await client.recv())["type"] == "next"  # its own current value
    return client


def production(message: dict[str, Any]) -> Any:
    assert message["type"] == "next", message
    return message["payload"]["data"]["energyStats"]["productionW"]


def test_same_document_and_variables_of_two_users_each_get_their_own_total(
    server: LiveServer, user: Any, other_user: Any
) -> None:
    alice, mallory = token_for(user), token_for(other_user)

    async def scenario() -> tuple[list[Any], list[Any], dict[int, tuple[int, int]]]:
        # given two connections of each user, all with the same document and no variables
        alices = [await subscribed(server, alice, None) for _ in range(2)]
        mallorys = [await subscribed(server, mallory, None) for _ in range(2)]
        # when each user's total is published
        store.publish(channels.user_channel(user.pk), stats(111.0))
        store.publish(channels.user_channel(other_user.pk), stats(222.0))
        got_alice = [production(await c.recv()) for c in alices]
        got_mallory = [production(await c.recv()) for c in mallorys]
        shared = {
            feed.key[3]: (len(feed.members), feed.executions)
            for feed in server_feeds(server).by_key.values()
        }
        for client in alices + mallorys:
            await client.close()
        return got_alice, got_mallory, shared

    got_alice, got_mallory, shared = asyncio.run(scenario())

    # then each user's connections get that user's total only
    assert got_alice == [111.0, 111.0]
    assert got_mallory == [222.0, 222.0]
    # and each user's two subscriptions shared one execution of the one message
    assert shared == {user.pk: (2, 1), other_user.pk: (2, 1)}


def test_home_of_another_user_gets_nothing_while_its_owner_shares_one_execution(
    server: LiveServer, user: Any, other_user: Any
) -> None:
    home = HomeFactory(owner=user)
    live_values.write_many([(keys.home_stats_key(home.pk), stats(100.0))])
    alice, mallory = token_for(user), token_for(other_user)
    theirs = {"homeId": str(home.pk)}

    async def scenario() -> dict[str, Any]:
        # given alice following her home on two connections
        alices = [await subscribed(server, alice, theirs) for _ in range(2)]
        # and mallory asking for the same document and variables, then for her own total
        spy = await RawClient.connect(server.url)
        assert (await spy.init(mallory))["type"] == "connection_ack"
        await spy.subscribe("1", ENERGY_STATS, theirs)
        refused = await spy.recv()
        await spy.subscribe("2", ENERGY_STATS, None)
        own = await spy.recv()
        # when alice's home publishes, then mallory's own total does
        store.publish(channels.home_channel(home.pk), stats(333.0))
        store.publish(channels.user_channel(other_user.pk), stats(7.0))
        got_alice = [production(await c.recv()) for c in alices]
        spy_next = await spy.recv()
        keyed = {
            (feed.key[2], feed.key[3]): (len(feed.members), feed.executions)
            for feed in server_feeds(server).by_key.values()
        }
        for client in [*alices, spy]:
            await client.close()
        return {
            "refused": refused,
            "own": own,
            "alice": got_alice,
            "spy_next": spy_next,
            "feeds": keyed,
        }

    result = asyncio.run(scenario())

    # then mallory's subscription to alice's home is refused as a missing one
    assert result["refused"]["type"] == "error" and result["refused"]["id"] == "1"
    assert [e["message"] for e in result["refused"]["payload"]] == ["Home not found."]
    assert result["own"]["id"] == "2"
    # alice's two connections get her home's value from one execution
    assert result["alice"] == [333.0, 333.0]
    # and the next thing mallory receives is her own total: nothing of alice's came before it
    assert result["spy_next"]["id"] == "2" and production(result["spy_next"]) == 7.0
    assert result["feeds"] == {
        (b'{"homeId":"%d"}' % home.pk, user.pk): (2, 1),
        (b"{}", other_user.pk): (1, 1),
    }
