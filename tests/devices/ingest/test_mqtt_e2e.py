"""``manage.py mqtt_bridge`` as its own process, against the real Mosquitto and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.db import connection
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from config.local_servers import mqtt_host_port
from devices import hardware
from devices.live import keys
from devices.models import Device, Reading
from tests import live_values
from tests.devices.factories import EnergyMeterFactory
from tests.devices.support import batch, reading

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]


def _bridge(log: Path, *args: str) -> subprocess.Popen[bytes]:
    """The bridge process, its output going to ``log`` (read while it runs)."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "REDIS_STATE_URL": settings.REDIS_STATE_URL,
        "CONN_MAX_AGE": "0",
    }
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "mqtt_bridge", *args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes], log: Path) -> tuple[int, str]:
    """SIGTERM, then wait as long as the bridge itself allows its writer to finish (30 s)."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=35)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return process.returncode, log.read_text(errors="replace")


def _wait(condition: Callable[[], bool], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}/gridtwin/devices"


@pytest.fixture
def publisher() -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.connect(*mqtt_host_port(settings.MQTT_URL))
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def test_the_bridge_process_stores_telemetry_and_survives_garbage(
    prefix: str, publisher: mqtt.Client, user: Any, tmp_path: Path
) -> None:
    meter = EnergyMeterFactory(home__owner=user)
    key = hardware.device_api_key_rotate(user_id=user.pk, device_id=meter.pk).key
    log = tmp_path / "bridge.log"
    process = _bridge(log, "--prefix", prefix)
    try:
        topic = f"{prefix}/{meter.pk}/telemetry"
        # Until the bridge has subscribed, messages are lost (QoS applies to subscribers).
        seq = iter(range(1, 10_000))

        def probe() -> bool:
            # Older than the batch below: the live value never goes back to an older reading.
            at = datetime.now(UTC) - timedelta(minutes=5)
            body = {**reading(at=at, seq=next(seq)), "key": key}
            publisher.publish(topic, orjson.dumps(body), qos=1).wait_for_publish(5)
            time.sleep(0.2)
            return Reading.objects.filter(device=meter).exists()

        assert _wait(probe), "the bridge never stored a reading"
        for garbage in (b"\xff\xfe", b"[]", b'{"voltage": 1e999}', orjson.dumps({"key": key})):
            publisher.publish(topic, garbage, qos=1).wait_for_publish(5)
        body = {**batch(50, start_seq=5000), "key": key}
        publisher.publish(topic, orjson.dumps(body), qos=1).wait_for_publish(5)
        assert _wait(lambda: Reading.objects.filter(device=meter, seq__gte=5000).count() == 50)
        current = live_values.read_many([keys.device_current_key(meter.pk)])[0]
        assert current is not None and current["seq"] == 5049
        assert _wait(lambda: Device.objects.get(pk=meter.pk).status == "online")
    finally:
        code, output = _stop(process, log)
    assert code == 0, output
    assert "malformed" in output and "Traceback" not in output


def test_without_a_broker_the_bridge_waits_quietly(prefix: str, tmp_path: Path) -> None:
    log = tmp_path / "bridge.log"
    process = _bridge(log, "--url", "mqtt://127.0.0.1:9", "--prefix", prefix)  # nobody listens
    # Django's start takes seconds on a busy machine: wait for the bridge's first attempt.
    assert _wait(lambda: "no broker at 127.0.0.1:9" in log.read_text(errors="replace"), 30), (
        log.read_text(errors="replace")
    )
    time.sleep(3)
    assert process.poll() is None, "the bridge exited without a broker"
    code, output = _stop(process, log)
    assert code == 0, output
    assert output.count("no broker at 127.0.0.1:9") <= 2 and "Traceback" not in output
