"""The ledger in the farm: signals per home, live prices and rates, history sums, the stores'
books carried tick to tick (exactly once, and through a Redis loss), and weather driving the
physics (the farm's functions in this process, real Redis and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from devices.live import codecs, keys
from devices.live import store as live_store
from devices.models import ElectricVehicle, EvMode, HomeEnergyHistory
from grid.signals import TickSignals, signals_for_homes
from simulators import farm
from simulators.farm import ledger
from simulators.physics.tick import population_tick
from tests.devices.factories import (
    BatteryFactory,
    ElectricVehicleFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.simulators.farm.ticks import tick_in_process

pytestmark = pytest.mark.django_db

# London 00:00 in winter, a checkpoint tick (index divisible by SIM_CHECKPOINT_TICKS = 5).
MIDNIGHT = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
NOON = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
DT_S = 60.0


@pytest.fixture
def home(user: Any) -> dict[str, Any]:
    """A home whose vehicle charges from the grid at midnight, next to a battery that covers
    part of it: both stores' books fill from a mix of grid and stored energy."""
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone="Europe/London")
    battery = BatteryFactory(home=home, level_wh=5000.0)
    vehicle = ElectricVehicleFactory(
        home=home, mode=EvMode.CHARGING, level_wh=10_000.0, away_days=0
    )
    return {"home": home, "battery": battery, "vehicle": vehicle}


def _storage(device: Any) -> dict[str, Any]:
    value = live_store.device_storages([device.pk])[0]
    assert value is not None
    return value


def _record(device: Any) -> Any:
    raw = live_store.raw_many([live_store.storage_handles([device.pk])[0]])
    records, found = codecs.unpack_storages(raw)
    assert found[0]
    return records[0]


def test_a_tick_prices_the_home_and_books_what_its_stores_took(home: dict[str, Any]) -> None:
    # given the home's signals at midnight, as the grid gives them
    signals = signals_for_homes(np.array([home["home"].pk], dtype=np.int64), MIDNIGHT)
    price, intensity = float(signals.import_price[0]), float(signals.carbon_intensity[0])
    # when a tick runs
    tick_in_process(MIDNIGHT)
    # then the live stats carry the signals and the rates
    stats = live_store.home_stats([home["home"].pk])[0]
    assert stats is not None
    assert stats["import_price_per_kwh"] == pytest.approx(price, abs=1e-6)
    assert stats["export_price_per_kwh"] == pytest.approx(float(signals.export_price[0]), abs=1e-6)
    assert stats["carbon_intensity"] == pytest.approx(intensity, abs=1e-6)
    # the history prices the import at the tariff; nothing was exported
    row = HomeEnergyHistory.objects.get(home=home["home"])
    assert row.import_wh > 0.0
    assert row.cost == pytest.approx(row.import_wh / 1000.0 * price)
    assert row.carbon_g == pytest.approx(row.import_wh / 1000.0 * intensity)
    assert row.revenue == 0.0
    assert row.carbon_avoided_g == 0.0  # no own generation at night
    # the stores started with no book: what they hold now cost what the grid import cost,
    # less what the load took (its cost rate over the minute)
    battery, vehicle = _storage(home["battery"]), _storage(home["vehicle"])
    assert vehicle["flow_w"] > 0.0 and battery["flow_w"] < 0.0
    stored_cost = sum(s["level_wh"] / 1000.0 * s["cost_per_kwh"] for s in (battery, vehicle))
    load_cost = stats["cost_rate_per_hour"] * DT_S / 3600.0
    assert stored_cost == pytest.approx(row.cost - load_cost, rel=1e-5, abs=1e-6)
    stored_carbon = sum(s["level_wh"] / 1000.0 * s["carbon_g_per_kwh"] for s in (battery, vehicle))
    load_carbon = stats["carbon_rate_g_per_hour"] * DT_S / 3600.0
    assert stored_carbon == pytest.approx(row.carbon_g - load_carbon, rel=1e-5, abs=1e-4)
    # the load took the mix of free stored energy and grid energy: cheaper than the grid alone
    assert 0.0 < stats["cost_rate_per_hour"] < stats["consumption_w"] / 1000.0 * price
    assert 0.0 < vehicle["grid_share"] < 1.0
    assert battery["grid_share"] == 0.0  # it only discharged
    # the user's total carries the same (one home)
    total = live_store.user_stats(home["home"].owner_id)
    assert total is not None
    assert total["cost_rate_per_hour"] == pytest.approx(stats["cost_rate_per_hour"], abs=1e-6)
    assert total["import_price_per_kwh"] == pytest.approx(price, abs=1e-6)


def test_a_repeated_shard_books_once_and_the_next_tick_carries_the_book(
    home: dict[str, Any], settings: Any
) -> None:
    settings.SIM_SHARD_HOMES = 1
    first = farm.shard_of(home["home"].pk)
    later = MIDNIGHT + timedelta(minutes=1)
    farm.shard_simulate(tick_at=MIDNIGHT, home_id_from=first, home_id_to=first + 1)
    farm.shard_simulate(tick_at=later, home_id_from=first, home_id_to=first + 1)
    once = _record(home["vehicle"]).tobytes()
    carried = _record(home["vehicle"])
    assert carried["prev_cost_per_kwh"] > 0.0  # the book of the first tick is the input
    # the same tick again (a redelivery after the write): the same input, the same book
    live_store.client().delete(keys.farm_shard_attempts_key(int(later.timestamp()), first))
    assert farm.shard_simulate(tick_at=later, home_id_from=first, home_id_to=first + 1)
    assert _record(home["vehicle"]).tobytes() == once


def test_after_a_redis_flush_books_resume_from_the_checkpoint(home: dict[str, Any]) -> None:
    tick_in_process(MIDNIGHT)  # a checkpoint tick
    saved = ElectricVehicle.objects.get(pk=home["vehicle"].pk)
    live = _storage(home["vehicle"])
    assert saved.book_cost_per_kwh == pytest.approx(live["cost_per_kwh"], rel=1e-6)
    assert saved.book_grid_share == pytest.approx(live["grid_share"], rel=1e-6)
    live_store.client().flushdb()
    tick_in_process(MIDNIGHT + timedelta(minutes=1))
    record = _record(home["vehicle"])
    assert record["prev_cost_per_kwh"] == pytest.approx(saved.book_cost_per_kwh, rel=1e-6)
    assert record["prev_carbon_g_per_kwh"] == pytest.approx(saved.book_carbon_g_per_kwh, rel=1e-6)


def test_weather_where_known_drives_the_clouds_and_the_outdoor_temperature(user: Any) -> None:
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone="Europe/London")
    SolarPanelFactory(home=home)
    data = farm.shard_load(home.pk, home.pk + 1, use_cache=False)
    levels = farm.storage_levels(data, live_store.client())
    signals = signals_for_homes(data.home_ids, NOON)

    def step(cloud: float, temperature: float) -> Any:
        weather = replace(
            signals, cloud_cover=np.array([cloud]), temperature_c=np.array([temperature])
        )
        population = ledger.population_with_weather(data.population, weather)
        return population_tick(population, levels, tick_at=NOON, dt_s=DT_S, seed=1)

    clear, overcast = step(0.0, 20.0), step(1.0, 20.0)
    assert clear.solar_power_w[0] > 2 * overcast.solar_power_w[0] > 0.0
    assert step(0.0, -5.0).homes.outdoor_temperature_c[0] == -5.0
    # unknown weather (NaN) keeps the seeded draw and the climatology, whatever else is known
    unknown = step(np.nan, np.nan)
    drawn = population_tick(data.population, levels, tick_at=NOON, dt_s=DT_S, seed=1)
    assert unknown.solar_power_w[0] == drawn.solar_power_w[0]
    assert unknown.homes.outdoor_temperature_c[0] == drawn.homes.outdoor_temperature_c[0]
    assert isinstance(signals, TickSignals)
