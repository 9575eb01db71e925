"""A subscribed client keeps receiving after the server's Redis restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from devices.live import channels, keys
from tests import live_values
from tests.conftest import token_for
from tests.devices.factories import HomeFactory
from tests.graphql_api.live_server import RawClient, live_server
from tests.servers import Server, start_redis

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIPTION = "subscription($homeId: ID) { energyStats(homeId: $homeId) { productionW } }"


@pytest.fixture
def own_redis(settings: Any) -> Iterator[list[Server]]:
    servers = [start_redis()]
    settings.REDIS_STATE_URL = servers[0].url  # the server's hub and snapshots use it
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_delivery_resumes_after_redis_restart(own_redis: list[Server], user: Any) -> None:
    url = own_redis[0].url
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    home = HomeFactory(owner=user)
    key, channel = keys.home_stats_key(home.pk), channels.home_channel(home.pk)
    conn = redis.Redis.from_url(url)
    live_values.write_many([(key, {"production_w": 1.0, "ts": time.time()})], conn=conn)
    token = token_for(user)

    def subscribed() -> bool:
        try:
            return bool(redis.Redis.from_url(url).pubsub_numsub(channel)[0][1])
        except redis.ConnectionError:
            return False

    async def scenario() -> list[float | None]:
        client = await RawClient.connect(server.url)
        await client.init(token)
        await client.subscribe("1", SUBSCRIPTION, {"homeId": str(home.pk)})
        seen = [(await client.recv())["payload"]["data"]["energyStats"]["productionW"]]
        # when Redis restarts on the same port (empty: it keeps nothing)
        await asyncio.to_thread(own_redis[0].stop)
        own_redis.append(await asyncio.to_thread(start_redis, port))
        live_values.write_many([(key, {"production_w": 2.0, "ts": time.time()})], conn=conn)
        deadline = time.monotonic() + 15
        while not subscribed():
            assert time.monotonic() < deadline, "the hub did not resubscribe"
            await asyncio.sleep(0.02)
        live_values.write_many(
            [(key, {"production_w": 3.0, "ts": time.time()})],
            conn=conn,
            publish=[(channel, {"production_w": 3.0, "ts": time.time()})],
        )
        # then the client gets a fresh snapshot, then the ticks again
        while seen[-1] != 3.0:
            reply = await client.recv(timeout_s=10)
            seen.append(reply["payload"]["data"]["energyStats"]["productionW"])
        await client.close()
        return seen

    with live_server() as server:
        seen = asyncio.run(scenario())
        hub = server.hub()
        assert hub is not None and hub.reconnects >= 1

    assert seen[0] == 1.0
    assert seen[-1] == 3.0
    assert len(seen) >= 3  # a resync snapshot (2.0, or null if read before it was written)
    assert set(seen[1:-1]) <= {None, 2.0, 3.0}
