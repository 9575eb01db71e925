"""The bridge's writer and readings it can never store: they are dropped from their batch,
counted and logged, and everything else is stored — one user's deleted meter never holds back
another's readings.

Real Mosquitto, PostgreSQL and Redis; the writer runs in its own thread with its own database
connection, as in production, so the data is committed (transactional test).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from paho.mqtt import client as mqtt

from devices import hardware
from devices.ingest.mqtt import Bridge
from devices.ingest.validation import ValidReading
from devices.models import Device, Reading
from tests.devices.ingest.test_mqtt_bridge import pump, send
from tests.devices.support import (  # noqa: F401
    _ingest_in_test_thread,
    _private_mqtt_topics,
    meter_fixture,
    other_meter_fixture,
    reading,
)

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime.now(UTC) - timedelta(minutes=5)


@pytest.fixture
def bridge(settings: Any) -> Iterator[Bridge]:
    # Batches of exactly two readings: no timer decides what goes together.
    b = Bridge(
        prefix=settings.MQTT_TOPIC_PREFIX, flush_interval_s=600, flush_rows=2, threaded_writes=True
    )
    b.start()
    assert b.subscribed.wait(5), "no broker at MQTT_URL"
    yield b
    b.close()


def telemetry(device: Any, seq: int) -> dict[str, Any]:
    return {**reading(at=T0 + timedelta(seconds=seq), seq=seq), "key": device.api_key}


def test_a_meter_deleted_while_its_key_check_is_cached_holds_back_no_one(
    bridge: Bridge,
    publisher: mqtt.Client,
    meter: Any,
    other_meter: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    send(publisher, meter.pk, "telemetry", telemetry(meter, 1))
    send(publisher, other_meter.pk, "telemetry", telemetry(other_meter, 1))
    pump(bridge, lambda: bridge.counters["stored"] == 2)  # both key checks are cached now
    Device.objects.filter(pk=meter.pk).delete()

    with caplog.at_level(logging.WARNING):
        # one batch: the deleted meter's reading (a foreign-key violation) and another user's
        send(publisher, meter.pk, "telemetry", telemetry(meter, 2))
        send(publisher, other_meter.pk, "telemetry", telemetry(other_meter, 2))
        pump(bridge, lambda: bridge.counters["stored"] == 3, timeout_s=10)
    assert bridge.counters["dropped_device_gone"] == 1
    assert f"dropped 1 readings of deleted devices [{meter.pk}]" in caplog.text
    assert "dropped 1 readings that cannot be stored (device_gone" in caplog.text

    # the writer is not stuck on that batch: what comes next is stored too
    send(publisher, other_meter.pk, "telemetry", telemetry(other_meter, 3))
    send(publisher, other_meter.pk, "telemetry", telemetry(other_meter, 4))
    pump(bridge, lambda: bridge.counters["stored"] == 5, timeout_s=10)
    stored = Reading.objects.filter(device=other_meter).order_by("seq")
    assert list(stored.values_list("seq", flat=True)) == [1, 2, 3, 4]
    assert not Reading.objects.filter(device_id=meter.pk).exists()
    assert bridge.counters["db_errors"] == 0

    # and the bridge forgot the deleted meter's key at once, not after its cache time
    send(publisher, meter.pk, "telemetry", telemetry(meter, 3))
    pump(bridge, lambda: bridge.counters["unauthorized"] == 1)
    assert bridge.counters["readings"] == 6


def valid(seq: int, second: int) -> ValidReading:
    return ValidReading(
        measured_at=T0 + timedelta(seconds=second),
        seq=seq,
        voltage_v=230.0,
        current_a=1.0,
        power_w=230.0,
        energy_wh=1000.0 + second,
        frequency_hz=50.0,
        power_factor=1.0,
    )


def test_a_row_postgresql_refuses_is_dropped_alone(
    meter: Any, other_meter: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing valid gets here any more; a row that does (a sequence number beyond bigint) must
    # still cost only itself.
    rows = [(meter.pk, valid(seq, seq)) for seq in range(1, 6)]
    rows.insert(3, (other_meter.pk, valid(2**64, 0)))
    with caplog.at_level(logging.WARNING):
        result = hardware.readings_store(rows, received_at=T0)
    assert (result.stored, result.duplicates, dict(result.dropped)) == (5, 0, {"unstorable": 1})
    assert Reading.objects.filter(device=meter).count() == 5
    assert f"device {other_meter.pk} at" in caplog.text and "DataError" in caplog.text
    again = hardware.readings_store(rows, received_at=T0)  # a repeat: duplicates, same drop
    assert (again.stored, again.duplicates, dict(again.dropped)) == (0, 5, {"unstorable": 1})
