"""POST /api/v1/telemetry: validation, storage, live state, replays, limits, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices import hardware
from devices.live import keys, store
from devices.models import Device, EnergyMeter, Reading
from tests import live_values
from tests.asgi_client import Client
from tests.devices.factories import HeaterFactory
from tests.devices.support import (  # noqa: F401
    _ingest_in_test_thread,
    _private_mqtt_topics,
    batch,
    iso,
    meter_fixture,
    other_meter_fixture,
    post,
    reading,
)

pytestmark = pytest.mark.django_db


def test_one_reading_is_stored_and_goes_live(meter: Any) -> None:
    at = datetime.now(UTC) - timedelta(seconds=2)
    response = post(Client(), meter.api_key, reading(at=at, seq=7, power=812.5))
    assert response.status_code == 201, response.content
    assert response.json() == {
        "accepted": 1,
        "stored": 1,
        "duplicates": 0,
        "readings": [{"timestamp": iso(at), "seq": 7}],
    }
    row = Reading.objects.get(device=meter)
    assert (row.seq, row.power_w, row.voltage_v, row.power_factor) == (7, 812.5, 230.1, 0.87)
    current = live_values.read_many([keys.device_current_key(meter.pk)])[0]
    assert current is not None
    assert current["power_w"] == 812.5 and current["status"] == "online"
    assert current["ts"] == pytest.approx(at.timestamp())
    assert store.client().ttl(keys.device_current_key(meter.pk)) > 0
    assert [w["seq"] for w in store.read_window(meter.pk)] == [7]
    window_ttl = store.client().ttl(keys.device_window_key(meter.pk))
    assert store.WINDOW_TTL_S - 60 < window_ttl <= store.WINDOW_TTL_S  # goes a day after the last
    # the first request of a second flushes "seen" to PostgreSQL
    meter.refresh_from_db()
    assert meter.status == "online" and meter.last_seen_at is not None
    assert meter.power_w == 812.5 and meter.energy_wh == 170_684.0


def test_a_batch_is_stored_whole_and_the_window_keeps_the_last_60(meter: Any) -> None:
    response = post(Client(), meter.api_key, batch(75))
    assert response.status_code == 201, response.content
    assert response.json()["stored"] == 75
    assert Reading.objects.filter(device=meter).count() == 75
    window = store.read_window(meter.pk)
    assert len(window) == 60 and window[0]["seq"] == 75  # newest first
    assert live_values.read_many([keys.device_current_key(meter.pk)])[0]["seq"] == 75  # type: ignore[index]


def test_a_seq_written_with_a_zero_fraction_is_that_integer(meter: Any) -> None:
    # given a sequence number as some JSON encoders write integers (found by generated
    # requests: JSON Schema counts 42.0 as an integer, and it was refused)
    body = batch(2, start_seq=41)
    body["readings"][1]["seq"] = 42.0
    # when it is sent
    response = post(Client(), meter.api_key, body)
    # then it is stored as the integer, and a repeat with 42 is a duplicate
    assert response.status_code == 201, response.content
    assert [r["seq"] for r in response.json()["readings"]] == [41, 42]
    assert list(
        Reading.objects.filter(device=meter).order_by("seq").values_list("seq", flat=True)
    ) == [
        41,
        42,
    ]
    again = post(Client(), meter.api_key, reading(seq=42))
    assert again.json()["duplicates"] == 1


def test_a_replayed_batch_stores_nothing_twice(meter: Any) -> None:
    body = batch(5, start_seq=100)
    assert post(Client(), meter.api_key, body).json()["stored"] == 5
    again = post(Client(), meter.api_key, body)
    assert again.status_code == 201
    assert again.json() | {"readings": []} == {
        "accepted": 5,
        "stored": 0,
        "duplicates": 5,
        "readings": [],
    }
    # same seq with a different timestamp is still a duplicate
    moved = reading(seq=102, at=datetime.now(UTC) - timedelta(seconds=30))
    assert post(Client(), meter.api_key, moved).json()["stored"] == 0
    assert Reading.objects.filter(device=meter).count() == 5


def test_one_instant_twice_in_a_batch_is_stored_once_and_reported_as_a_duplicate(
    meter: Any,
) -> None:
    at = datetime.now(UTC) - timedelta(seconds=5)
    body = {"readings": [reading(at=at, seq=1, power=100.0), reading(at=at, seq=2, power=200.0)]}
    response = post(Client(), meter.api_key, body)
    assert response.status_code == 201, response.content
    assert response.json() == {
        "accepted": 2,
        "stored": 1,
        "duplicates": 1,
        "readings": [{"timestamp": iso(at), "seq": 1}],
    }
    assert list(Reading.objects.values_list("seq", "power_w")) == [(1, 100.0)]
    assert [(w["seq"], w["power_w"]) for w in store.read_window(meter.pk)] == [(1, 100.0)]


BAD_VALUES = [
    ("voltage", -1),
    ("voltage", 500.1),
    ("current", -0.1),
    ("current", 100.5),
    ("power", -5),
    ("power", 50_000.1),
    ("power", 1e308),
    ("energy", -1),
    ("energy", 1e10 + 1),
    ("energy", 1e308),
    ("frequency", 44.9),
    ("frequency", 65.1),
    ("power_factor", -0.01),
    ("power_factor", 1.01),
    ("voltage", "230"),
    ("power", True),
    ("power", None),
    ("seq", -1),
    ("seq", 1.5),
    ("timestamp", "yesterday"),
    ("timestamp", "2026-11-23T12:00:00"),  # no offset
    ("timestamp", 1795435200),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_each_bad_field_is_named_and_nothing_is_stored(meter: Any, field: str, value: Any) -> None:
    response = post(Client(), meter.api_key, reading(**{field: value}))
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == {field}
    assert not Reading.objects.exists()
    assert live_values.read_many([keys.device_current_key(meter.pk)]) == [None]


def test_the_upper_bounds_themselves_are_accepted(meter: Any) -> None:
    edges = reading(voltage=500, current=100, power=50_000, energy=1e10, power_factor=1)
    response = post(Client(), meter.api_key, edges)
    assert response.status_code == 201, response.content
    assert Reading.objects.get(device=meter).energy_wh == 1e10


def test_power_and_energy_bounds_are_named_in_the_error(meter: Any) -> None:
    response = post(Client(), meter.api_key, reading(power=1e308, energy=1e308))
    assert response.json()["errors"] == {
        "power": "Must be between 0 and 50000 W.",
        "energy": "Must be between 0 and 10000000000 Wh.",
    }


def test_timestamps_in_the_future_or_too_old_are_refused(meter: Any) -> None:
    now = datetime.now(UTC)
    future = post(Client(), meter.api_key, reading(at=now + timedelta(seconds=90)))
    assert future.json()["errors"] == {"timestamp": "Is in the future."}
    old = post(Client(), meter.api_key, reading(at=now - timedelta(days=7, minutes=1)))
    assert old.json()["errors"] == {"timestamp": "Is too old."}
    skewed = post(Client(), meter.api_key, reading(at=now + timedelta(seconds=10)))
    assert skewed.status_code == 201  # within the allowed clock skew


def test_missing_and_unknown_fields(meter: Any) -> None:
    body = reading(frequency=..., colour="blue")
    response = post(Client(), meter.api_key, body)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "colour": "Unknown field.",
        "frequency": "This field is required.",
    }


def test_one_bad_reading_rejects_the_whole_batch_by_index(meter: Any) -> None:
    body = batch(4)
    body["readings"][2]["voltage"] = 9000
    body["readings"][3].pop("timestamp")
    response = post(Client(), meter.api_key, body)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "readings": {
            "2": {"voltage": "Must be between 0 and 500 V."},
            "3": {"timestamp": "Required for every reading of a batch."},
        }
    }
    assert not Reading.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"voltage": NaN}', b"[1, 2]", b'"reading"', b'{"readings": []}', b""],
)
def test_malformed_bodies_are_400(meter: Any, raw: bytes) -> None:
    response = post(Client(), meter.api_key, None, raw=raw)
    assert response.status_code == 400, response.content
    assert not Reading.objects.exists()


def test_nan_written_as_a_number_is_refused(meter: Any) -> None:
    raw = reading().copy()
    text = (
        b'{"voltage": 230, "current": 1, "power": Infinity, "energy": 1, "frequency": 50,'
        b' "power_factor": 1}'
    )
    assert post(Client(), meter.api_key, raw, raw=text).status_code == 400


@pytest.mark.parametrize("key", [None, "", "gt_nope", "gt_0123456789ab_wrongsecret"])
def test_missing_or_bad_keys_are_401(meter: Any, key: str | None) -> None:
    response = post(Client(), key, reading())
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid or missing API key."}
    assert not Reading.objects.exists()


def test_a_right_prefix_with_a_wrong_secret_is_401(meter: Any) -> None:
    forged = meter.api_key[:-4] + ("AAAA" if not meter.api_key.endswith("AAAA") else "BBBB")
    assert post(Client(), forged, reading()).status_code == 401


def test_oversized_bodies_and_batches_are_413(meter: Any, settings: Any) -> None:
    huge = b'{"readings": [' + b"1," * 140_000 + b"1]}"
    assert len(huge) > settings.TELEMETRY_MAX_BODY_BYTES
    assert post(Client(), meter.api_key, None, raw=huge).status_code == 413
    settings.TELEMETRY_MAX_BATCH = 10
    response = post(Client(), meter.api_key, batch(11))
    assert response.status_code == 413
    assert not Reading.objects.exists()


def test_the_rate_is_per_device(meter: Any, other_meter: Any, settings: Any) -> None:
    settings.TELEMETRY_RATE = "3/m"
    now = datetime.now(UTC)
    codes = [
        post(Client(), meter.api_key, reading(at=now - timedelta(seconds=i), seq=i)).status_code
        for i in range(1, 5)
    ]
    assert codes == [201, 201, 201, 429]
    limited = post(Client(), meter.api_key, reading(seq=99))
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert post(Client(), other_meter.api_key, reading()).status_code == 201


def test_only_physical_devices_accept_telemetry(user: Any) -> None:
    heater = HeaterFactory(home__owner=user)
    key = "gt_0123456789ab_" + "x" * 43
    Device.objects.filter(pk=heater.pk).update(
        api_key_prefix="0123456789ab", api_key_hash=hardware.key_hash(key)
    )
    assert post(Client(), key, reading()).status_code == 403
    assert not Reading.objects.exists()


def test_other_methods_are_405(meter: Any) -> None:
    assert (
        Client().get("/api/v1/telemetry", headers={"X-API-Key": meter.api_key}).status_code == 405
    )


def test_flush_batches_latest_reading_and_seen(meter: Any, other_meter: Any) -> None:
    """Many readings, few row updates: the meter's latest fields arrive in one bulk flush."""
    # Hold the inline flush.
    store.client().set(keys.lock_key("hardware:seen-flush"), b"1", px=60_000)
    post(Client(), meter.api_key, batch(3))
    post(Client(), other_meter.api_key, reading(power=42.0))
    assert EnergyMeter.objects.get(pk=meter.pk).power_w is None  # not flushed yet
    assert hardware.seen_flush() == 2
    assert EnergyMeter.objects.get(pk=meter.pk).power_w == 102.0  # newest of the batch
    assert EnergyMeter.objects.get(pk=other_meter.pk).power_w == 42.0
    assert set(Device.objects.filter(status="online").values_list("pk", flat=True)) == {
        meter.pk,
        other_meter.pk,
    }
