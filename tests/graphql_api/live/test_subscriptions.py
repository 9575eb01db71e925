"""Subscriptions end to end: a real uvicorn, real WebSocket clients, real Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import websockets
from django.conf import settings as django_settings
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.typing import Subprotocol

from devices.live import channels, keys, store
from devices.models import Alert
from graphql_api import feeds
from tests import live_values
from tests.conftest import token_for
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory
from tests.graphql_api.live_server import LiveServer, RawClient, live_server

pytestmark = pytest.mark.django_db(transaction=True)

ENERGY_STATS = """
subscription EnergyStats($homeId: ID) {
  energyStats(homeId: $homeId) { homeId productionW consumptionW netGridFlowW stale timestamp }
}
"""
DEVICE_STATE = """
subscription DeviceState($deviceId: ID!) {
  deviceState(deviceId: $deviceId) { deviceId powerW status levelWh capacityWh soc stale }
}
"""
ALERTS = """
subscription { alerts { id deviceId kind message severity raisedAt resolvedAt resolved } }
"""


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with live_server() as running:
        yield running


def stats(production_w: float, consumption_w: float = 500.0) -> dict[str, Any]:
    return {
        "production_w": production_w,
        "consumption_w": consumption_w,
        "storage_flow_w": 0.0,
        "net_grid_flow_w": consumption_w - production_w,
        "self_sufficiency": 0.5,
        "ts": time.time(),
        "until": time.time() + 120,
    }


def transport(server: LiveServer, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=server.url,
        init_payload={"Authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )


async def until(predicate: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_reference_client_gets_snapshot_then_each_tick(server: LiveServer, user: Any) -> None:
    # given a home with a current value in Redis
    home = HomeFactory(owner=user)
    live_values.write_many([(keys.home_stats_key(home.pk), stats(1000.0))])
    token = token_for(user)

    async def scenario() -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        async with Client(transport=transport(server, token)) as session:
            request = GraphQLRequest(ENERGY_STATS, variable_values={"homeId": str(home.pk)})
            stream = session.subscribe(request)
            received.append(await anext(stream))  # the snapshot
            for production_w in (1100.0, 1200.0):
                live_values.write_many(
                    [(keys.home_stats_key(home.pk), stats(production_w))],
                    publish=[(channels.home_channel(home.pk), stats(production_w))],
                )
                received.append(await asyncio.wait_for(anext(stream), 5))
            await stream.aclose()
        return received

    # when the reference client subscribes and two ticks are published
    received = asyncio.run(scenario())

    # then it gets the snapshot, then one message per tick
    assert [r["energyStats"]["productionW"] for r in received] == [1000.0, 1100.0, 1200.0]
    assert received[0]["energyStats"]["homeId"] == str(home.pk)
    assert received[0]["energyStats"]["stale"] is False


def test_total_without_home_id_follows_user_channel(server: LiveServer, user: Any) -> None:
    token = token_for(user)

    async def scenario() -> list[dict[str, Any]]:
        async with Client(transport=transport(server, token)) as session:
            stream = session.subscribe(GraphQLRequest(ENERGY_STATS))
            first = await anext(stream)  # no data yet: nulls, stale
            store.publish(channels.user_channel(user.pk), stats(2000.0))
            second = await asyncio.wait_for(anext(stream), 5)
            await stream.aclose()
            return [first, second]

    first, second = asyncio.run(scenario())
    assert first["energyStats"] == {
        "homeId": None,
        "productionW": None,
        "consumptionW": None,
        "netGridFlowW": None,
        "stale": True,
        "timestamp": None,
    }
    assert second["energyStats"]["productionW"] == 2000.0


def test_device_state_reads_storage(server: LiveServer, user: Any) -> None:
    battery = BatteryFactory(home__owner=user)
    live_values.write_many(
        [
            (keys.device_current_key(battery.pk), {"power_w": 10.0, "status": "online", "ts": 1}),
            (keys.device_storage_key(battery.pk), {"capacity_wh": 10_000.0, "level_wh": 5000.0}),
        ]
    )
    token = token_for(user)

    async def scenario() -> list[dict[str, Any]]:
        async with Client(transport=transport(server, token)) as session:
            request = GraphQLRequest(DEVICE_STATE, variable_values={"deviceId": str(battery.pk)})
            stream = session.subscribe(request)
            first = await anext(stream)
            # As telemetry does: the new value is written, then announced.
            now = time.time()
            current = {"power_w": 20.0, "status": "online", "ts": now, "until": now + 20}
            live_values.write_many(
                [(keys.device_current_key(battery.pk), current)],
                publish=[(channels.device_channel(battery.pk), current)],
            )
            second = await asyncio.wait_for(anext(stream), 5)
            await stream.aclose()
            return [first, second]

    first, second = asyncio.run(scenario())
    assert first["deviceState"]["powerW"] == 10.0
    assert first["deviceState"]["soc"] == 0.5
    assert first["deviceState"]["stale"] is True  # ts 1: long ago
    assert second["deviceState"]["powerW"] == 20.0
    assert second["deviceState"]["levelWh"] == 5000.0
    assert second["deviceState"]["stale"] is False


def test_alerts_open_ones_then_events(server: LiveServer, user: Any) -> None:
    panel = SolarPanelFactory(home__owner=user)
    raised_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    alert = Alert.objects.create(
        device=panel, kind="offline", severity="warning", message="Silent.", raised_at=raised_at
    )
    token = token_for(user)
    event = {
        "id": alert.pk,
        "device_id": panel.pk,
        "kind": "offline",
        "message": "Back online.",
        "severity": "warning",
        "raised_at": raised_at.isoformat(),
        "resolved_at": "2026-01-02T04:00:00+00:00",
        "resolved": True,
    }

    async def scenario() -> list[dict[str, Any]]:
        async with Client(transport=transport(server, token)) as session:
            stream = session.subscribe(GraphQLRequest(ALERTS))
            first = await anext(stream)
            store.publish(channels.alerts_channel(user.pk), event)
            second = await asyncio.wait_for(anext(stream), 5)
            await stream.aclose()
            return [first, second]

    first, second = asyncio.run(scenario())
    assert first["alerts"] == {
        "id": str(alert.pk),
        "deviceId": str(panel.pk),
        "kind": "offline",
        "message": "Silent.",
        "severity": "warning",
        "raisedAt": "2026-01-02T03:04:05+00:00",
        "resolvedAt": None,
        "resolved": False,
    }
    assert second["alerts"]["resolved"] is True
    assert second["alerts"]["resolvedAt"] == "2026-01-02T04:00:00+00:00"


@pytest.mark.parametrize(
    ("document", "variable", "message"),
    [(ENERGY_STATS, "homeId", "Home not found."), (DEVICE_STATE, "deviceId", "Device not found.")],
)
def test_someone_elses_home_or_device_reads_as_missing(
    server: LiveServer, user: Any, other_user: Any, document: str, variable: str, message: str
) -> None:
    # given mallory's home and device, with live values being published
    home = HomeFactory(owner=other_user)
    panel = SolarPanelFactory(home=home)
    target = home.pk if variable == "homeId" else panel.pk
    channel = (
        channels.home_channel(home.pk) if variable == "homeId" else channels.device_channel(target)
    )
    live_values.write_many(
        [
            (keys.home_stats_key(home.pk), stats(1.0)),
            (keys.device_current_key(panel.pk), {"power_w": 1.0, "ts": time.time()}),
        ]
    )
    token = token_for(user)

    async def errors_for(object_id: str) -> tuple[list[Any], list[Any]]:
        client = await RawClient.connect(server.url)
        assert (await client.init(token))["type"] == "connection_ack"
        await client.subscribe("1", document, {variable: object_id})
        reply = await client.recv()
        store.publish(channel, stats(2.0))
        extra: list[Any] = []
        with pytest.raises(TimeoutError):
            extra.append(await client.recv(timeout_s=0.3))
        await client.close()
        assert reply["type"] == "error" and reply["id"] == "1"
        return reply["payload"], extra

    # when alice subscribes to it, and to one that does not exist
    theirs, delivered = asyncio.run(errors_for(str(target)))
    missing, _ = asyncio.run(errors_for("999999"))

    # then both answers read the same, and nothing of mallory's is delivered
    assert [e["message"] for e in theirs] == [message]
    assert [e["message"] for e in missing] == [message]
    assert theirs[0].get("extensions") == missing[0].get("extensions")
    assert delivered == []


def test_reference_client_sees_missing_home_as_query_error(server: LiveServer, user: Any) -> None:
    token = token_for(user)

    async def scenario() -> None:
        async with Client(transport=transport(server, token)) as session:
            request = GraphQLRequest(ENERGY_STATS, variable_values={"homeId": "424242"})
            with pytest.raises(TransportQueryError, match=r"Home not found\."):
                async for _ in session.subscribe(request):
                    pass

    asyncio.run(scenario())


def test_token_expiry_closes_4403(server: LiveServer, user: Any, settings: Any) -> None:
    # given a token that lives two seconds
    settings.JWT_ACCESS_TOKEN_LIFETIME = timedelta(seconds=2)
    home = HomeFactory(owner=user)
    token = token_for(user)

    async def scenario() -> tuple[int | None, float]:
        client = await RawClient.connect(server.url)
        assert (await client.init(token))["type"] == "connection_ack"
        await client.subscribe("1", ENERGY_STATS, {"homeId": str(home.pk)})
        assert (await client.recv())["type"] == "next"
        started = time.monotonic()
        code = await client.closed_with(timeout_s=6)
        return code, time.monotonic() - started

    # when the connection outlives it, then the server closes it with 4403 at expiry
    code, waited_s = asyncio.run(scenario())
    assert code == 4403
    assert waited_s < 3.5


def test_slow_consumer_holds_one_value(server: LiveServer, user: Any) -> None:
    """A client that stops reading while 10,000 ticks are published costs the server one slot."""
    home = HomeFactory(owner=user)
    token = token_for(user)
    channel = channels.home_channel(home.pk)
    count = 10_000

    async def scenario() -> dict[str, Any]:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        protocols = [Subprotocol("graphql-transport-ws")]
        ws = await websockets.connect(server.url, sock=sock, subprotocols=protocols, max_queue=1)
        client = RawClient(ws)
        assert (await client.init(token))["type"] == "connection_ack"
        await client.subscribe("1", ENERGY_STATS, {"homeId": str(home.pk)})
        assert (await client.recv())["type"] == "next"
        hub = server.hub()
        assert hub is not None
        rss_before = _rss_kib()
        # when 10,000 ticks are published while the client reads nothing
        # (published from another process, so that only the server and this client count)
        await asyncio.to_thread(_publish_from_subprocess, channel, count)
        await until(lambda: hub.messages >= count, timeout_s=20)
        [mailbox] = hub.mailboxes[channel]
        # the subscriber's slot, behind its feed's mailbox: at most one value waits in each
        assert server.loop is not None
        [feed] = feeds._feeds[server.loop].by_key.values()
        [member] = feed.members
        queued = hub.queued() + member.pending
        rss_after = _rss_kib()
        # then the client, reading again, gets far fewer messages, ending with the latest value
        received = []
        while True:
            message = await client.recv(timeout_s=2)
            received.append(message["payload"]["data"]["energyStats"]["productionW"])
            if received[-1] == count - 1:
                break
        await client.close()
        return {
            "queued": queued,
            "replaced": mailbox.replaced + member.replaced,
            "received": received,
            "rss_growth_kib": rss_after - rss_before,
        }

    result = asyncio.run(scenario())
    print(  # the figures, for the record (pytest -s)
        f"slow consumer: {count} published, {len(result['received'])} delivered, "
        f"{result['replaced']} replaced in its mailbox, RSS +{result['rss_growth_kib']} KiB"
    )
    assert result["queued"] <= 2
    assert result["replaced"] >= count - len(result["received"]) - 1
    assert len(result["received"]) < count / 10
    assert result["received"][-1] == count - 1
    # 10,000 queued messages of ~2 KB would be ~20 MB; the server holds at most a few.
    assert result["rss_growth_kib"] < 4 * 1024


_PUBLISHER = """
import sys, time, orjson, redis
url, channel, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = {"production_w": 0.0, "consumption_w": 500.0, "ts": time.time(), "padding": "x" * 2000}
conn = redis.Redis.from_url(url)
with conn.pipeline(transaction=False) as pipe:
    for i in range(count):
        # one tick each: a subscription skips a value it already sent (same ts and until)
        pipe.publish(channel, orjson.dumps({**base, "production_w": i, "ts": base["ts"] + i}))
    pipe.execute()
"""


def _publish_from_subprocess(channel: str, count: int) -> None:
    url = django_settings.REDIS_STATE_URL
    subprocess.run([sys.executable, "-c", _PUBLISHER, url, channel, str(count)], check=True)


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_subscriptions_share_one_pubsub_connection(server: LiveServer, user: Any) -> None:
    homes = [HomeFactory(owner=user) for _ in range(3)]
    token = token_for(user)

    async def scenario() -> tuple[int, list[int]]:
        clients = []
        for i in range(9):
            client = await RawClient.connect(server.url)
            await client.init(token)
            await client.subscribe("1", ENERGY_STATS, {"homeId": str(homes[i % 3].pk)})
            assert (await client.recv())["type"] == "next"
            clients.append(client)
        hub = server.hub()
        assert hub is not None
        subscribed = len(hub.mailboxes)
        pubsub_connections = _pubsub_connections(hub.url)
        # a tick on one home reaches its three subscribers only
        store.publish(channels.home_channel(homes[0].pk), stats(7.0))
        got = [json.loads(await c.ws.recv()) for c in clients[0::3]]
        assert all(m["payload"]["data"]["energyStats"]["productionW"] == 7.0 for m in got)
        for other in clients[1::3] + clients[2::3]:
            with pytest.raises(TimeoutError):
                await other.recv(timeout_s=0.1)
        for client in clients:
            await client.close()
        await until(lambda: not hub.mailboxes)
        return subscribed, pubsub_connections

    # then nine subscribers on three homes share one Redis connection subscribed to three channels
    subscribed, pubsub_connections = asyncio.run(scenario())
    assert subscribed == 3
    assert pubsub_connections == [3]


def _pubsub_connections(url: str) -> list[int]:
    """The channel count of each Redis connection in pub/sub mode."""
    clients = redis.Redis.from_url(url).client_list()
    return [int(c["sub"]) for c in clients if int(c.get("sub", 0)) > 0]
