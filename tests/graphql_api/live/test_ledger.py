"""Prices, carbon and the ledger through the API: energyStats' new fields, energyHistory's sums,
ledger(homeId, from, to), and isolation for each (another user gets nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from devices.live import keys
from devices.models import EvMode, HomeEnergyHistory
from grid.signals import signals_for_homes
from simulators import farm
from tests import live_values
from tests.conftest import GraphQLClient
from tests.devices.factories import BatteryFactory, ElectricVehicleFactory, HomeFactory
from tests.simulators.farm.ticks import tick_in_process

pytestmark = pytest.mark.django_db

STATS = """
query($homeId: ID) {
  energyStats(homeId: $homeId) {
    homeId importPricePerKwh exportPricePerKwh carbonIntensity costRatePerHour
    carbonRateGPerHour stale
  }
}"""
HISTORY = """
query($homeId: ID!, $from: DateTime!, $to: DateTime!, $bucket: HistoryBucket) {
  energyHistory(homeId: $homeId, from: $from, to: $to, bucket: $bucket) {
    start importKwh cost revenue carbonG carbonAvoidedG
  }
}"""
LEDGER = """
query($homeId: ID!, $from: DateTime!, $to: DateTime!) {
  ledger(homeId: $homeId, from: $from, to: $to) {
    homeId from to importKwh exportKwh importCost exportRevenue carbonG carbonAvoidedG
    storage {
      deviceId name kwh averageCostPerKwh averageCarbonGPerKwh solarShare generatorShare
      gridShare timestamp stale
    }
  }
}"""
T0 = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)


@pytest.fixture
def home(user: Any) -> Any:
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.12, timezone="Europe/London")
    BatteryFactory(home=home, level_wh=5000.0)
    ElectricVehicleFactory(home=home, mode=EvMode.CHARGING, level_wh=10_000.0, away_days=0)
    return home


def _range(hours: int = 1) -> dict[str, str]:
    return {"from": T0.isoformat(), "to": (T0 + timedelta(hours=hours)).isoformat()}


def test_energy_stats_carry_prices_carbon_and_rates(gql: GraphQLClient, home: Any) -> None:
    tick_in_process(farm.tick_align(datetime.now(UTC)))
    value = live_values.read_many([keys.home_stats_key(home.pk)])[0]
    assert value is not None
    for variables in ({"homeId": str(home.pk)}, {}):
        data = gql(STATS, variables)["data"]["energyStats"]
        assert data["stale"] is False
        assert data["importPricePerKwh"] == pytest.approx(value["import_price_per_kwh"])
        assert data["exportPricePerKwh"] == pytest.approx(value["export_price_per_kwh"])
        assert data["carbonIntensity"] == pytest.approx(value["carbon_intensity"])
        assert data["costRatePerHour"] == pytest.approx(value["cost_rate_per_hour"])
        assert data["carbonRateGPerHour"] == pytest.approx(value["carbon_rate_g_per_hour"])
        assert data["costRatePerHour"] > 0.0


def test_no_data_yet_reads_null_prices(gql: GraphQLClient, home: Any) -> None:
    data = gql(STATS, {"homeId": str(home.pk)})["data"]["energyStats"]
    assert data["importPricePerKwh"] is None
    assert data["costRatePerHour"] is None
    assert data["stale"] is True


def test_energy_history_buckets_sum_cost_revenue_and_carbon(gql: GraphQLClient, home: Any) -> None:
    for minute in range(3):
        tick_in_process(T0 + timedelta(minutes=minute))
    rows = HomeEnergyHistory.objects.filter(home=home)
    variables = {"homeId": str(home.pk), **_range()}
    hourly = gql(HISTORY, variables)["data"]["energyHistory"]
    assert len(hourly) == 1
    assert hourly[0]["cost"] == pytest.approx(sum(row.cost for row in rows))
    assert hourly[0]["carbonG"] == pytest.approx(sum(row.carbon_g for row in rows))
    assert hourly[0]["revenue"] == pytest.approx(0.0)
    assert hourly[0]["cost"] > 0.0
    minutes = gql(HISTORY, {**variables, "bucket": "MINUTE"})["data"]["energyHistory"]
    assert len(minutes) == 3
    assert sum(m["cost"] for m in minutes) == pytest.approx(hourly[0]["cost"])
    assert sum(m["carbonAvoidedG"] for m in minutes) == pytest.approx(hourly[0]["carbonAvoidedG"])


def test_ledger_totals_the_range_and_shows_each_stores_book(gql: GraphQLClient, home: Any) -> None:
    for minute in range(2):
        tick_in_process(T0 + timedelta(minutes=minute))
    rows = list(HomeEnergyHistory.objects.filter(home=home).order_by("tick_at"))
    signals = signals_for_homes(np.array([home.pk], dtype=np.int64), T0)
    data = gql(LEDGER, {"homeId": str(home.pk), **_range()})["data"]["ledger"]
    assert data["homeId"] == str(home.pk)
    assert data["importKwh"] == pytest.approx(sum(r.import_wh for r in rows) / 1000.0)
    assert data["importCost"] == pytest.approx(sum(r.cost for r in rows))
    assert data["carbonG"] == pytest.approx(sum(r.carbon_g for r in rows))
    assert data["exportRevenue"] == pytest.approx(0.0)
    # only the first minute in range: its cost only
    one_minute = {"from": T0.isoformat(), "to": (T0 + timedelta(minutes=1)).isoformat()}
    first = gql(LEDGER, {"homeId": str(home.pk), **one_minute})["data"]["ledger"]
    assert first["importCost"] == pytest.approx(rows[0].cost)
    assert len({s["deviceId"] for s in data["storage"]}) == 2
    vehicle = next(s for s in data["storage"] if s["gridShare"] and s["gridShare"] > 0.0)
    assert vehicle["stale"] is True  # the ticks were long ago; the book is still shown
    assert vehicle["kwh"] > 10.0
    # charged from a mix of grid energy and free stored energy, less lossy than the grid alone
    price = float(signals.import_price[0])
    assert 0.0 < vehicle["averageCostPerKwh"] < price / 0.9
    assert vehicle["averageCarbonGPerKwh"] > 0.0


def test_ledger_range_must_run_forward(gql: GraphQLClient, home: Any) -> None:
    variables = {"homeId": str(home.pk), "from": T0.isoformat(), "to": T0.isoformat()}
    result = gql(LEDGER, variables)
    assert result["data"]["ledger"] is None
    assert "after" in result["errors"][0]["message"]


def test_another_user_gets_nothing(
    gql: GraphQLClient, other_gql: GraphQLClient, home: Any, other_user: Any
) -> None:
    # given the owner's home with ticks and history, and a second user with a home of their own
    theirs = HomeFactory(owner=other_user)
    tick_in_process(T0)
    tick_in_process(farm.tick_align(datetime.now(UTC)))
    assert gql(LEDGER, {"homeId": str(home.pk), **_range()})["data"]["ledger"] is not None
    # when the second user asks for the owner's home, then nothing comes back
    assert other_gql(STATS, {"homeId": str(home.pk)})["data"]["energyStats"] is None
    # their total is their own home's alone
    total = other_gql(STATS)["data"]["energyStats"]
    own = other_gql(STATS, {"homeId": str(theirs.pk)})["data"]["energyStats"]
    mine = gql(STATS, {"homeId": str(home.pk)})["data"]["energyStats"]
    assert total["costRatePerHour"] == pytest.approx(own["costRatePerHour"])
    assert total["costRatePerHour"] != pytest.approx(
        own["costRatePerHour"] + mine["costRatePerHour"]
    )
    history = other_gql(HISTORY, {"homeId": str(home.pk), **_range()})
    assert history["data"]["energyHistory"] is None
    ledger = other_gql(LEDGER, {"homeId": str(home.pk), **_range()})
    assert ledger["data"]["ledger"] is None
    assert "errors" not in ledger
