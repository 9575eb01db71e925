"""History: readings and hourly energy over GraphQL, rollups, retention, isolation."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time

import graphql_api.schema  # noqa: F401  (typed before freezegun swaps datetime)
from devices import hardware
from devices.hardware import RollupResult
from devices.ingest.validation import ValidReading
from devices.models import Reading, ReadingHourly
from tests.asgi_client import Client
from tests.conftest import GraphQLClient
from tests.devices.support import (  # noqa: F401
    _ingest_in_test_thread,
    _private_mqtt_topics,
    batch,
    iso,
    meter_fixture,
    other_meter_fixture,
    post,
)

pytestmark = pytest.mark.django_db

READINGS = """
query($deviceId: ID!, $from: DateTime!, $to: DateTime!, $first: Int) {
  readings(deviceId: $deviceId, from: $from, to: $to, first: $first) {
    measuredAt seq voltageV currentA powerW energyWh frequencyHz powerFactor
  }
}"""
HOURLY = """
query($deviceId: ID!, $from: DateTime!, $to: DateTime!) {
  meterEnergyHourly(deviceId: $deviceId, from: $from, to: $to) {
    hour energyWh avgPowerW minPowerW maxPowerW count
  }
}"""
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _store(device_id: int, points: list[tuple[datetime, float, float]]) -> None:
    rows = [
        (
            device_id,
            ValidReading(
                measured_at=at,
                seq=None,
                voltage_v=230.0,
                current_a=power / 230.0,
                power_w=power,
                energy_wh=energy,
                frequency_hz=50.0,
                power_factor=1.0,
            ),
        )
        for at, power, energy in points
    ]
    hardware.readings_insert(rows, received_at=T0)


def test_readings_in_a_range_oldest_first(gql: GraphQLClient, meter: Any) -> None:
    assert post(Client(), meter.api_key, batch(10, start_seq=1)).status_code == 201
    rows = list(Reading.objects.filter(device=meter).order_by("measured_at"))
    variables = {
        "deviceId": meter.pk,
        "from": iso(rows[2].measured_at),
        "to": iso(rows[6].measured_at),
        "first": 3,
    }
    result = gql(READINGS, variables)
    assert "errors" not in result, result
    assert [r["seq"] for r in result["data"]["readings"]] == [3, 4, 5]
    assert result["data"]["readings"][0]["powerW"] == 102.0


def test_readings_page_size_is_bounded(gql: GraphQLClient, meter: Any) -> None:
    now = datetime.now(UTC)
    result = gql(READINGS, {"deviceId": meter.pk, "from": iso(now), "to": iso(now), "first": 0})
    assert result["errors"][0]["message"].startswith("Must be between 1 and")


def test_history_of_another_users_device_reads_as_missing(
    gql: GraphQLClient, other_meter: Any
) -> None:
    assert post(Client(), other_meter.api_key, batch(3)).status_code == 201
    now = datetime.now(UTC)
    window = {"deviceId": other_meter.pk, "from": iso(now - timedelta(hours=1)), "to": iso(now)}
    for document in (READINGS, HOURLY):
        result = gql(document, window)
        assert result["data"] is None
        assert result["errors"][0]["message"] == "Device not found."
        assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_hourly_rollup_counts_counter_increments(gql: GraphQLClient, meter: Any) -> None:
    # 10:00-11:00: energy 1000 -> 1300 Wh; a counter reset at 11:20 counts as 0, then +50 Wh.
    _store(
        meter.pk,
        [
            (T0, 100.0, 1000.0),
            (T0 + timedelta(minutes=30), 300.0, 1200.0),
            (T0 + timedelta(minutes=59), 200.0, 1300.0),
            (T0 + timedelta(minutes=70), 400.0, 1400.0),
            (T0 + timedelta(minutes=80), 0.0, 0.0),
            (T0 + timedelta(minutes=90), 600.0, 50.0),
        ],
    )
    hardware.readings_rollup(since=T0, until=T0 + timedelta(hours=2))
    hardware.readings_rollup(since=T0, until=T0 + timedelta(hours=2))  # idempotent
    assert ReadingHourly.objects.count() == 2
    result = gql(
        HOURLY, {"deviceId": meter.pk, "from": iso(T0), "to": iso(T0 + timedelta(hours=3))}
    )
    assert "errors" not in result, result
    first, second = result["data"]["meterEnergyHourly"]
    assert first == {
        "hour": "2026-11-20T10:00:00+00:00",
        "energyWh": 300.0,
        "avgPowerW": 200.0,
        "minPowerW": 100.0,
        "maxPowerW": 300.0,
        "count": 3,
    }
    assert second["energyWh"] == 150.0  # 1300 -> 1400, reset, 0 -> 50
    assert second["count"] == 3


def _store_unchecked(device_id: int, at: datetime, *, power_w: float, energy_wh: float) -> None:
    """A row as it may have been stored before telemetry had bounds: straight into the table."""
    Reading.objects.create(
        device_id=device_id,
        measured_at=at,
        received_at=at,
        voltage_v=230.0,
        current_a=1.0,
        power_w=power_w,
        energy_wh=energy_wh,
        frequency_hz=50.0,
        power_factor=1.0,
    )


def test_a_reading_beyond_the_bounds_is_left_out_and_every_meter_is_rolled_up(
    meter: Any, other_meter: Any, caplog: pytest.LogCaptureFixture
) -> None:
    minutes = [T0 + timedelta(minutes=m) for m in (0, 10, 20, 30)]
    _store(meter.pk, [(minutes[0], 100.0, 1000.0), (minutes[3], 300.0, 1200.0)])
    _store(other_meter.pk, [(minutes[0], 50.0, 10.0), (minutes[2], 70.0, 30.0)])
    _store_unchecked(meter.pk, minutes[1], power_w=1e308, energy_wh=1e308)  # overflows a SUM
    _store_unchecked(other_meter.pk, minutes[1], power_w=float("nan"), energy_wh=20.0)
    with caplog.at_level(logging.WARNING, logger="devices.hardware.rollups"):
        result = hardware.readings_rollup(since=T0, until=T0 + timedelta(hours=1))
    assert result == RollupResult(hours=2, skipped=2)
    hours = {
        row.device_id: (row.count, row.energy_wh, row.avg_power_w, row.max_power_w)
        for row in ReadingHourly.objects.all()
    }
    assert hours == {meter.pk: (2, 200.0, 200.0, 300.0), other_meter.pk: (2, 20.0, 60.0, 70.0)}
    [record] = caplog.records
    assert "left out 2 readings" in record.getMessage()
    assert f"{meter.pk}: 1" in record.getMessage()
    assert f"{other_meter.pk}: 1" in record.getMessage()


def test_raw_readings_are_pruned_rollups_stay(meter: Any, settings: Any) -> None:
    settings.READINGS_RETENTION_DAYS = 30
    _store(meter.pk, [(T0, 100.0, 1.0), (T0 + timedelta(days=20), 100.0, 2.0)])
    hardware.readings_rollup(since=T0, until=T0 + timedelta(hours=1))
    with freeze_time(T0 + timedelta(days=31)):
        assert hardware.readings_prune() == 1
    assert list(Reading.objects.values_list("energy_wh", flat=True)) == [2.0]
    assert ReadingHourly.objects.count() == 1


def test_the_maintenance_task_rolls_up_then_prunes(meter: Any) -> None:
    from devices.tasks import readings_maintain_task

    _store(meter.pk, [(T0 + timedelta(minutes=5), 100.0, 1.0)])
    readings_maintain_task(until=iso(T0 + timedelta(hours=1)))
    assert ReadingHourly.objects.get().hour == T0
