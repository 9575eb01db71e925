"""energyStats, Device.live and energyHistory: values, staleness, bounds and isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.live import keys, store
from devices.models import HomeEnergyHistory
from simulators import farm
from simulators.tasks import tick_run
from tests import live_values
from tests.conftest import GraphQLClient
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory

pytestmark = pytest.mark.django_db

STATS = """
query($homeId: ID) {
  energyStats(homeId: $homeId) {
    homeId productionW consumptionW storageFlowW netGridFlowW selfSufficiency
    storageLevelWh storageCapacityWh storageSoc timestamp stale
  }
}"""
LIVE = """
query($homeId: ID) {
  devices(homeId: $homeId) {
    edges { node { id live { deviceId powerW levelWh flowW mode stale } } }
  }
}"""
DEVICE_LIVE = "query($id: ID!) { device(id: $id) { id live { powerW stale } } }"
HISTORY = """
query($homeId: ID!, $from: DateTime!, $to: DateTime!, $bucket: HistoryBucket) {
  energyHistory(homeId: $homeId, from: $from, to: $to, bucket: $bucket) {
    start productionKwh consumptionKwh importKwh exportKwh chargeKwh dischargeKwh
  }
}"""
T0 = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)


@pytest.fixture
def home(user: Any) -> Any:
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.12, timezone="Europe/London")
    SolarPanelFactory(home=home)
    BatteryFactory(home=home, level_wh=5000.0)
    return home


def now_tick(home: Any) -> datetime:
    """Run the current tick (so values are fresh) and return its instant."""
    tick = farm.tick_align(datetime.now(UTC))
    assert tick_run(tick_at=tick) == "started"
    return tick


def test_energy_stats_of_a_home_and_the_total(gql: GraphQLClient, home: Any) -> None:
    now_tick(home)
    data = gql(STATS, {"homeId": str(home.pk)})["data"]["energyStats"]
    value = live_values.read_many([keys.home_stats_key(home.pk)])[0]
    assert value is not None
    assert data["homeId"] == str(home.pk)
    assert data["consumptionW"] == pytest.approx(value["consumption_w"])
    assert data["stale"] is False
    assert data["storageSoc"] == pytest.approx(value["storage_level_wh"] / 10_000.0)
    total = gql(STATS)["data"]["energyStats"]
    assert total["homeId"] is None
    assert total["consumptionW"] == pytest.approx(value["consumption_w"])
    assert total["stale"] is False


def test_no_data_yet_reads_null_and_stale_never_zero(gql: GraphQLClient, home: Any) -> None:
    for variables in ({"homeId": str(home.pk)}, {}):
        data = gql(STATS, variables)["data"]["energyStats"]
        assert data["productionW"] is None
        assert data["netGridFlowW"] is None
        assert data["stale"] is True
    nodes = gql(LIVE)["data"]["devices"]["edges"]
    assert nodes
    for edge in nodes:
        assert edge["node"]["live"]["powerW"] is None
        assert edge["node"]["live"]["stale"] is True


def test_old_values_read_stale(gql: GraphQLClient, home: Any) -> None:
    tick_run(tick_at=T0)  # long past: the value is there (TTL) but older than a tick
    data = gql(STATS, {"homeId": str(home.pk)})["data"]["energyStats"]
    assert data["consumptionW"] is not None
    assert data["stale"] is True


def test_live_values_come_in_one_round_trip(
    gql: GraphQLClient, home: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now_tick(home)
    calls: list[int] = []
    original = store.araw_device_values

    async def counting(device_ids: Any, conn: Any) -> Any:
        calls.append(len(device_ids))
        return await original(device_ids, conn)

    monkeypatch.setattr(store, "araw_device_values", counting)
    edges = gql(LIVE)["data"]["devices"]["edges"]
    assert calls == [2]  # two devices: their current + storage keys in one MGET
    lives = {edge["node"]["id"]: edge["node"]["live"] for edge in edges}
    assert all(live["stale"] is False for live in lives.values())
    battery = next(live for live in lives.values() if live["levelWh"] is not None)
    assert battery["mode"] in {"idle", "charging", "discharging"}


def test_energy_history_in_buckets(gql: GraphQLClient, home: Any) -> None:
    for minute in range(3):
        tick_run(tick_at=T0 + timedelta(minutes=minute))
    rows = HomeEnergyHistory.objects.filter(home=home)
    assert rows.count() == 3
    variables = {
        "homeId": str(home.pk),
        "from": T0.isoformat(),
        "to": (T0 + timedelta(hours=1)).isoformat(),
    }
    hourly = gql(HISTORY, variables)["data"]["energyHistory"]
    assert len(hourly) == 1
    consumption_wh = sum(row.consumption_wh for row in rows)
    assert hourly[0]["consumptionKwh"] == pytest.approx(consumption_wh / 1000)
    assert hourly[0]["start"].startswith("2026-01-15T00:00:00")
    minutes = gql(HISTORY, {**variables, "bucket": "MINUTE"})["data"]["energyHistory"]
    assert len(minutes) == 3
    assert sum(m["dischargeKwh"] for m in minutes) == pytest.approx(hourly[0]["dischargeKwh"])


def test_energy_history_range_is_bounded(gql: GraphQLClient, home: Any) -> None:
    variables = {
        "homeId": str(home.pk),
        "from": T0.isoformat(),
        "to": (T0 + timedelta(days=30)).isoformat(),
        "bucket": "MINUTE",
    }
    result = gql(HISTORY, variables)
    assert result["data"]["energyHistory"] is None
    error = result["errors"][0]
    assert error["extensions"]["code"] == "BAD_RANGE"
    assert "10000" in error["message"]
    later = (T0 + timedelta(hours=1)).isoformat()
    reversed_range = {**variables, "to": T0.isoformat(), "from": later}
    assert gql(HISTORY, reversed_range)["errors"][0]["extensions"]["code"] == "BAD_RANGE"


def test_another_user_reads_none_of_it(
    gql: GraphQLClient, other_gql: GraphQLClient, home: Any, other_user: Any
) -> None:
    tick = now_tick(home)
    # energyStats with someone else's home id reads exactly like a missing home.
    theirs = other_gql(STATS, {"homeId": str(home.pk)})
    missing = other_gql(STATS, {"homeId": "999999"})
    assert theirs == missing == {"data": {"energyStats": None}}
    # Their total covers only their (no) homes.
    total = other_gql(STATS)["data"]["energyStats"]
    assert total["consumptionW"] is None
    assert total["stale"] is True
    # History.
    variables = {
        "homeId": str(home.pk),
        "from": (tick - timedelta(hours=1)).isoformat(),
        "to": (tick + timedelta(hours=1)).isoformat(),
    }
    assert gql(HISTORY, variables)["data"]["energyHistory"]
    assert other_gql(HISTORY, variables) == {"data": {"energyHistory": None}}
    assert other_gql(HISTORY, {**variables, "homeId": "999999"}) == {
        "data": {"energyHistory": None}
    }
    # The live field: their devices list is empty and a single device is null.
    assert other_gql(LIVE, {"homeId": str(home.pk)})["data"]["devices"]["edges"] == []
    device_id = home.devices.first().pk
    assert gql(DEVICE_LIVE, {"id": str(device_id)})["data"]["device"]["live"]["stale"] is False
    assert other_gql(DEVICE_LIVE, {"id": str(device_id)}) == {"data": {"device": None}}


def test_anonymous_callers_get_nothing(anon: GraphQLClient, home: Any) -> None:
    result = anon(STATS, {"homeId": str(home.pk)})
    assert result["data"] is None or result["data"]["energyStats"] is None
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
