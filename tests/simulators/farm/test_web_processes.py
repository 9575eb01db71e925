"""Several web processes on one Redis: each has its own pub/sub hub and delivers a real tick to
its own subscribers. Real Celery worker and beat, two real uvicorn processes as the Procfile
starts them, real WebSocket clients; nothing is published by hand."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from typing import Any

import pytest
from django.core.management import call_command

from devices.live import store
from tests.conftest import token_for
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory
from tests.graphql_api.live_server import RawClient
from tests.polling import wait_until
from tests.simulators.farm.stack import Stack
from tests.web_process import procfile_web

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TICK_S = 2
ENERGY_STATS = """
subscription EnergyStats($homeId: ID) {
  energyStats(homeId: $homeId) { homeId productionW timestamp stale }
}
"""


@pytest.fixture
def two_second_ticks(settings: Any) -> None:
    settings.TICK_SECONDS = TICK_S
    call_command("setup_schedule")


def test_each_web_process_delivers_a_real_tick_to_its_own_subscribers(
    stack: Stack, two_second_ticks: None, user: Any, other_user: Any, tmp_path: Any
) -> None:
    # given two users' homes, a real worker and beat ticking every 2 s
    homes = []
    for owner in (user, other_user):
        home = HomeFactory(owner=owner, latitude=51.5, longitude=-0.1, timezone="Europe/London")
        SolarPanelFactory(home=home)
        BatteryFactory(home=home, level_wh=5000.0)
        homes.append(home)
    stack.worker(concurrency=2)
    stack.beat(tmp_path)
    wait_until(
        lambda: all(value is not None for value in store.home_stats([h.pk for h in homes])),
        "the first tick",
        30,
    )

    with ExitStack() as servers:
        # and two web processes on the same Redis, each serving both users
        urls = [
            servers.enter_context(procfile_web(WEB_CONCURRENCY="1")).replace("http", "ws", 1)
            + "/graphql/"
            for _ in range(2)
        ]

        async def scenario() -> list[tuple[int, list[Any]]]:
            # when each user subscribes to their home on each process
            clients = []
            for url in urls:
                for owner, home in zip((user, other_user), homes, strict=True):
                    client = await RawClient.connect(url)
                    assert (await client.init(token_for(owner)))["type"] == "connection_ack"
                    await client.subscribe("1", ENERGY_STATS, {"homeId": str(home.pk)})
                    clients.append((home.pk, client))
            received: list[tuple[int, list[Any]]] = []
            for home_id, client in clients:
                # its current value, then the next two ticks
                messages = [await client.recv(timeout_s=10) for _ in range(3)]
                received.append((home_id, messages))
            for _, client in clients:
                await client.close()
            return received

        received = asyncio.run(scenario())

    # then every subscriber on both processes gets its own home's ticks, each newer than the last
    assert len(received) == 4
    for home_id, messages in received:
        assert [m["type"] for m in messages] == ["next", "next", "next"]
        values = [m["payload"]["data"]["energyStats"] for m in messages]
        assert {v["homeId"] for v in values} == {str(home_id)}
        stamps = [v["timestamp"] for v in values]
        assert stamps[0] < stamps[1] < stamps[2]
        assert not any(v["stale"] for v in values[1:])
