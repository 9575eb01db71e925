"""Shared fixtures and helpers of the real-hardware tests (imported by tests/devices/hardware and
tests/devices/ingest); holds no tests itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from devices import hardware
from devices.ingest import http
from tests.asgi_client import Client
from tests.devices.factories import EnergyMeterFactory

TELEMETRY = "/api/v1/telemetry"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def reading(
    *, at: datetime | None = None, seq: int | None = None, **overrides: Any
) -> dict[str, Any]:
    """A valid wire reading (a household's worth), overridable per field."""
    body: dict[str, Any] = {
        "voltage": 230.1,
        "current": 1.25,
        "power": 250.0,
        "energy": 170_684.0,
        "frequency": 50.0,
        "power_factor": 0.87,
        "timestamp": iso(at or datetime.now(UTC) - timedelta(seconds=1)),
    }
    if seq is not None:
        body["seq"] = seq
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def batch(count: int, *, start_seq: int = 1, end: datetime | None = None) -> dict[str, Any]:
    end = end or datetime.now(UTC) - timedelta(seconds=1)
    return {
        "readings": [
            reading(at=end - timedelta(seconds=count - i), seq=start_seq + i, power=100.0 + i)
            for i in range(count)
        ]
    }


def post(client: Client, key: str | None, body: Any, *, raw: bytes | None = None) -> Any:
    headers = {"X-API-Key": key} if key is not None else {}
    data = raw if raw is not None else orjson.dumps(body)
    return client.post(TELEMETRY, data=data, content_type="application/json", headers=headers)


@pytest.fixture(autouse=True)
def _ingest_in_test_thread() -> Iterator[None]:
    """Run the views' database work on the test's connection (it holds the test transaction)."""
    previous = http.THREAD_SENSITIVE
    http.THREAD_SENSITIVE = True
    yield
    http.THREAD_SENSITIVE = previous


@pytest.fixture(autouse=True)
def _private_mqtt_topics(settings: Any) -> None:
    """Topics of this run only: the broker is shared with everyone working on this machine."""
    settings.MQTT_TOPIC_PREFIX = f"test-{uuid.uuid4().hex[:10]}/gridtwin/devices"


@pytest.fixture(name="meter")
def meter_fixture(user: Any) -> Any:
    device = EnergyMeterFactory(home__owner=user, reporting_interval_s=10)
    device.api_key = hardware.device_api_key_rotate(user_id=user.pk, device_id=device.pk).key
    return device


@pytest.fixture(name="other_meter")
def other_meter_fixture(other_user: Any) -> Any:
    device = EnergyMeterFactory(home__owner=other_user, reporting_interval_s=10)
    device.api_key = hardware.device_api_key_rotate(user_id=other_user.pk, device_id=device.pk).key
    return device
