"""A deactivated or deleted user's access token is refused on every operation, on both
transports, for as long as it would otherwise have been valid."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections

from accounts.models import User
from devices.models import Home
from tests.accounts.factories import UserFactory
from tests.asgi_client import Client
from tests.conftest import GraphQLClient, token_for
from tests.graphql_api.live_server import LiveServer, RawClient, live_server

HOMES = "{ homes { id } }"
CREATE_HOME = """mutation {
  createHome(input: {name: "Flat", latitude: 48.1, longitude: 11.6, timezone: "Europe/Berlin"}) {
    ... on Home { id }
  }
}"""
ALERTS = "subscription { alerts { id } }"


def deactivate(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


def delete(user: User) -> None:
    user.delete()


def retire_and_close(retire: Callable[[User], None], user: User) -> None:
    retire(user)
    connections.close_all()  # this thread's connection must not outlive the test database


def assert_refused(result: dict[str, Any]) -> None:
    assert result["data"] is None
    [error] = result["errors"]
    assert error["message"] == "Invalid or expired token."
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}


@pytest.mark.django_db
@pytest.mark.parametrize("retire", [deactivate, delete])
def test_query_and_mutation_are_refused(user: User, retire: Callable[[User], None]) -> None:
    client = GraphQLClient(Client(), token_for(user))
    assert client(HOMES)["data"] == {"homes": []}
    retire(user)
    assert_refused(client(HOMES))
    assert_refused(client(CREATE_HOME))
    assert not Home.objects.exists()


@pytest.mark.django_db
def test_other_users_are_unaffected(user: User, other_user: User) -> None:
    deactivate(other_user)
    assert GraphQLClient(Client(), token_for(user))(HOMES)["data"] == {"homes": []}


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with live_server() as running:
        yield running


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("retire", [deactivate, delete])
def test_connection_init_is_refused(
    server: LiveServer, user: User, retire: Callable[[User], None]
) -> None:
    token = token_for(user)
    retire(user)

    async def run() -> int | None:
        client = await RawClient.connect(server.url)
        await client.send(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        return await client.closed_with()

    assert asyncio.run(run()) == 4403


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("retire", [deactivate, delete])
def test_a_subscription_after_retirement_is_refused(
    server: LiveServer, user: User, retire: Callable[[User], None]
) -> None:
    token = token_for(user)

    async def run() -> int | None:
        client = await RawClient.connect(server.url)
        assert (await client.init(token))["type"] == "connection_ack"
        await client.subscribe("before", ALERTS)
        await client.send({"id": "before", "type": "complete"})
        await asyncio.to_thread(retire_and_close, retire, user)
        await client.subscribe("after", ALERTS)
        return await client.closed_with()

    assert asyncio.run(run()) == 4403


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("retire", [deactivate, delete])
def test_an_open_subscription_ends_when_its_user_is_retired(
    server: LiveServer, user: User, retire: Callable[[User], None], monkeypatch: Any
) -> None:
    # the server checks open connections every 0.2 s instead of every 30 s
    monkeypatch.setattr("graphql_api.websocket.ACCESS_RECHECK_S", 0.2)
    token = token_for(user)

    async def run() -> tuple[int | None, int | None]:
        kept = await RawClient.connect(server.url)  # another user's stream goes on
        assert (await kept.init(token_for(other)))["type"] == "connection_ack"
        client = await RawClient.connect(server.url)
        assert (await client.init(token))["type"] == "connection_ack"
        await client.subscribe("alerts", ALERTS)
        await kept.subscribe("alerts", ALERTS)
        await asyncio.to_thread(retire_and_close, retire, user)
        closed = await client.closed_with()
        await asyncio.sleep(0.6)  # three more checks of the other connection
        await kept.send({"id": "ping", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
        answer = await kept.recv()
        await kept.close()
        return closed, answer["type"] == "next" and answer["payload"]["data"]["me"] is not None

    other = UserFactory(username="stays")
    closed, other_served = asyncio.run(run())
    assert closed == 4403
    assert other_served
