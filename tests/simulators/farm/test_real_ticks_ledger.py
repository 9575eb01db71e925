"""Prices, carbon and the ledger on the live path: a real Celery worker and beat at a 2 s tick,
a real ASGI server and a real WebSocket client. Nothing is published by hand."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from typing import Any

import pytest
from django.core.management import call_command

from devices.live import store
from devices.models import EvMode
from tests.conftest import token_for
from tests.devices.factories import BatteryFactory, ElectricVehicleFactory, HomeFactory
from tests.graphql_api.live_server import RawClient, live_server
from tests.polling import wait_until
from tests.simulators.farm.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TICK_S = 2
ENERGY_STATS = """
subscription EnergyStats($homeId: ID) {
  energyStats(homeId: $homeId) {
    timestamp stale consumptionW importPricePerKwh exportPricePerKwh carbonIntensity
    costRatePerHour carbonRateGPerHour
  }
}
"""


@pytest.fixture
def two_second_ticks(settings: Any) -> None:
    settings.TICK_SECONDS = TICK_S
    call_command("setup_schedule")


def test_energy_stats_subscription_carries_prices_and_rates_that_follow_the_ticks(
    stack: Stack, two_second_ticks: None, user: Any, tmp_path: Any
) -> None:
    # given a home whose vehicle charges from the grid, a real worker and beat, a real server
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone="Europe/London")
    BatteryFactory(home=home, level_wh=5000.0)
    vehicle = ElectricVehicleFactory(
        home=home, mode=EvMode.CHARGING, level_wh=10_000.0, away_days=0
    )
    token = token_for(user)
    stack.worker(concurrency=2)
    stack.beat(tmp_path)
    wait_until(lambda: store.home_stats([home.pk])[0] is not None, "the first tick", 30)
    books: list[float] = []

    with live_server() as server:

        async def scenario() -> list[Any]:
            client = await RawClient.connect(server.url)
            assert (await client.init(token))["type"] == "connection_ack"
            await client.subscribe("s", ENERGY_STATS, {"homeId": str(home.pk)})
            stats: list[Any] = []

            async def collect() -> None:
                while True:
                    message = await client.recv(timeout_s=10)
                    assert message["type"] == "next", message
                    stats.append(message["payload"]["data"]["energyStats"])
                    storage = store.device_storages([vehicle.pk])[0]
                    assert storage is not None
                    books.append(float(storage["cost_per_kwh"]))

            task = asyncio.create_task(collect())
            await asyncio.sleep(4 * TICK_S + 0.5)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.ws.close()
            return stats

        # when the client follows the home for four ticks
        stats = asyncio.run(scenario())

    # then every message carries the signals and the rates, and the rates follow the load
    assert len(stats) >= 4, stats
    for message in stats:
        assert message["stale"] is False
        assert message["importPricePerKwh"] is not None
        assert message["exportPricePerKwh"] is not None
        assert message["carbonIntensity"] is not None
        assert message["costRatePerHour"] > 0.0
        assert message["carbonRateGPerHour"] > 0.0
    assert len({m["timestamp"] for m in stats}) == len(stats)
    assert len({(m["consumptionW"], m["costRatePerHour"]) for m in stats}) > 1, stats
    # and the vehicle's stored energy gets dearer as grid energy joins it, tick after tick
    assert all(b >= a for a, b in pairwise(books)), books
    assert books[-1] > books[0] > 0.0, books
