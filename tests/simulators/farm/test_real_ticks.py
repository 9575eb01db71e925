"""The live path through real ticks: a real Celery worker and beat at a 2 s tick, a real ASGI
server and real WebSocket and HTTP clients. Nothing is published by hand."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import httpx
import pytest
from django.core.management import call_command

from devices.live import keys, store, ticks
from simulators import farm
from simulators.tasks import tick_run
from tests.conftest import token_for
from tests.devices.factories import (
    BatteryFactory,
    ElectricVehicleFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.graphql_api.live_server import RawClient, live_server
from tests.polling import wait_until
from tests.simulators.farm.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TICK_S = 2
ENERGY_STATS = """
subscription EnergyStats($homeId: ID) {
  energyStats(homeId: $homeId) { homeId productionW timestamp validUntil stale partial }
}
"""
DEVICE_STATE = """
subscription DeviceState($deviceId: ID!) {
  deviceState(deviceId: $deviceId) { deviceId powerW updatedAt validUntil stale }
}
"""
STATS_QUERY = "query ($homeId: ID) { energyStats(homeId: $homeId) { stale timestamp partial } }"


def _instant(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _home(owner: Any) -> tuple[Any, Any]:
    home = HomeFactory(owner=owner, latitude=51.5, longitude=-0.1, timezone="Europe/London")
    panel = SolarPanelFactory(home=home)
    BatteryFactory(home=home, level_wh=5000.0)
    ElectricVehicleFactory(home=home)
    return home, panel


@pytest.fixture
def two_second_ticks(settings: Any) -> None:
    settings.TICK_SECONDS = TICK_S
    call_command("setup_schedule")


def test_subscriptions_follow_every_tick_never_stale_then_stale_when_the_farm_stops(
    stack: Stack, two_second_ticks: None, user: Any, tmp_path: Any
) -> None:
    # given a home with devices, a real worker and beat ticking every 2 s, and a real server
    home, panel = _home(user)
    token = token_for(user)
    worker = stack.worker(concurrency=2)
    beat = stack.beat(tmp_path)
    wait_until(lambda: store.home_stats([home.pk])[0] is not None, "the first tick", 30)

    with live_server() as server:
        http_url = f"http://127.0.0.1:{server.port}/graphql/"
        headers = {"Authorization": f"Bearer {token}"}

        async def scenario() -> tuple[list[Any], list[Any], list[bool]]:
            stats_client = await RawClient.connect(server.url)
            device_client = await RawClient.connect(server.url)
            for client in (stats_client, device_client):
                assert (await client.init(token))["type"] == "connection_ack"
            await stats_client.subscribe("s", ENERGY_STATS, {"homeId": str(home.pk)})
            await device_client.subscribe("d", DEVICE_STATE, {"deviceId": str(panel.pk)})
            stats: list[Any] = []
            states: list[Any] = []
            polls: list[bool] = []

            async def collect(client: RawClient, into: list[Any], field: str) -> None:
                while True:
                    message = await client.recv(timeout_s=10)
                    assert message["type"] == "next", message
                    into.append(message["payload"]["data"][field])

            async def poll() -> None:
                async with httpx.AsyncClient(headers=headers) as http:
                    while True:
                        body = {"query": STATS_QUERY, "variables": {"homeId": str(home.pk)}}
                        answer = (await http.post(http_url, json=body)).json()
                        polls.append(answer["data"]["energyStats"]["stale"])
                        await asyncio.sleep(0.25)

            tasks = [
                asyncio.create_task(collect(stats_client, stats, "energyStats")),
                asyncio.create_task(collect(device_client, states, "deviceState")),
                asyncio.create_task(poll()),
            ]
            await asyncio.sleep(5 * TICK_S + 0.5)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for client in (stats_client, device_client):
                await client.ws.close()
            return stats, states, polls

        # when clients follow the home and its panel for five ticks while one polls over HTTP
        stats, states, polls = asyncio.run(scenario())

        # then each gets one message per tick, timestamps advancing by one tick, never stale
        for messages in (stats, states):
            stamps = [
                _instant(m["timestamp"] if "timestamp" in m else m["updatedAt"]) for m in messages
            ]
            assert len(stamps) >= 5, messages
            assert all(b - a == TICK_S for a, b in pairwise(stamps)), stamps
            assert not any(m["stale"] for m in messages), messages
            assert all(
                _instant(m["validUntil"]) - s == 2 * TICK_S
                for m, s in zip(messages, stamps, strict=True)
            )
        assert len(polls) >= 15 and not any(polls), polls

        # when the farm stops, the values turn stale once the next tick is overdue
        stack.stop(beat)
        stack.stop(worker)
        until = _instant(stats[-1]["validUntil"])
        time.sleep(max(0.0, until - time.time()) + 1.0)
        with httpx.Client(headers=headers) as http:
            body = {"query": STATS_QUERY, "variables": {"homeId": str(home.pk)}}
            assert http.post(http_url, json=body).json()["data"]["energyStats"]["stale"] is True


def test_a_failed_shard_leaves_its_homes_stale_and_the_owners_total_partial(
    stack: Stack, settings: Any, user: Any, other_user: Any, real_broker: None, gql: Any
) -> None:
    # given one user with homes in two shards and another user, and a shard that always fails
    settings.SIM_SHARD_HOMES = 1
    failing, _ = _home(user)
    healthy, _ = _home(user)
    others, _ = _home(other_user)
    stack.worker(concurrency=2, fail_shard=failing.pk)
    failed_before = ticks.shards_failed()

    # when a real tick runs
    tick = farm.tick_align(datetime.now(UTC))
    assert tick_run(tick_at=tick) == "started"
    tick_s = int(tick.timestamp())
    wait_until(lambda: "finished_at" in ticks.timing(tick_s), "finalize")

    # then the failing shard's home has no value, the healthy ones are current
    failing_stats, healthy_stats, other_stats = store.home_stats(
        [failing.pk, healthy.pk, others.pk]
    )
    assert failing_stats is None
    assert healthy_stats is not None and healthy_stats["ts"] == tick_s
    assert other_stats is not None and other_stats["ts"] == tick_s
    # the owner's total says it is partial (and is no current total); the other user's is whole
    total = store.user_stats(user.pk)
    assert total is not None and total["partial"] is True
    other_total = store.user_stats(other_user.pk)
    assert other_total is not None and "partial" not in other_total
    assert ticks.shards_failed() == failed_before + 1
    answer = gql(STATS_QUERY)["data"]["energyStats"]
    assert answer["partial"] is True and answer["stale"] is True
    home_answer = gql(STATS_QUERY, {"homeId": str(failing.pk)})["data"]["energyStats"]
    assert home_answer["stale"] is True
    assert store.client().get(keys.farm_running_key()) is None  # the next tick may start
