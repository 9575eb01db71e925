"""The MQTT bridge against the real Mosquitto at MQTT_URL: telemetry, garbage, keys, status."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from django.conf import settings as django_settings
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from config.local_servers import mqtt_host_port
from devices import hardware
from devices.ingest.mqtt import Bridge
from devices.live import keys, store
from devices.models import Alert, Device, DeviceCommand, Reading
from tests import live_values
from tests.devices.support import (  # noqa: F401
    _ingest_in_test_thread,
    _private_mqtt_topics,
    batch,
    meter_fixture,
    other_meter_fixture,
    reading,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def bridge(settings: Any) -> Iterator[Bridge]:
    # Writes stay in this thread: they must see the test's uncommitted rows.
    b = Bridge(prefix=settings.MQTT_TOPIC_PREFIX, flush_interval_s=0.1, threaded_writes=False)
    b.start()
    assert b.subscribed.wait(5), "no broker at MQTT_URL"
    yield b
    b.close()


def topic(device_id: int, leaf: str) -> str:
    from django.conf import settings

    return f"{settings.MQTT_TOPIC_PREFIX}/{device_id}/{leaf}"


def send(
    client: mqtt.Client, device_id: int, leaf: str, payload: Any, *, raw: bool = False
) -> None:
    data = payload if raw else orjson.dumps(payload)
    client.publish(topic(device_id, leaf), data, qos=1).wait_for_publish(5)


def pump(bridge: Bridge, until: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Run the bridge's loop in this thread (it shares the test transaction) until ``until``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        bridge.process(timeout_s=0.05)
        if until():
            return
    raise AssertionError(f"timed out; counters {dict(bridge.counters)}")


def test_telemetry_reaches_live_keys_and_postgresql(
    bridge: Bridge, publisher: mqtt.Client, meter: Any
) -> None:
    send(publisher, meter.pk, "telemetry", {**batch(30, start_seq=1), "key": meter.api_key})
    send(publisher, meter.pk, "telemetry", {**reading(seq=31, power=999.0), "key": meter.api_key})
    pump(bridge, lambda: bridge.counters["stored"] == 31)
    assert Reading.objects.filter(device=meter).count() == 31
    current = live_values.read_many([keys.device_current_key(meter.pk)])[0]
    assert current is not None and current["seq"] == 31 and current["power_w"] == 999.0
    assert len(store.read_window(meter.pk)) == 31
    pump(bridge, lambda: Device.objects.get(pk=meter.pk).status == "online")


def test_a_replayed_message_is_stored_once(
    bridge: Bridge, publisher: mqtt.Client, meter: Any
) -> None:
    body = {**batch(5, start_seq=10), "key": meter.api_key}
    send(publisher, meter.pk, "telemetry", body)
    pump(bridge, lambda: bridge.counters["stored"] == 5)
    send(publisher, meter.pk, "telemetry", body)
    pump(bridge, lambda: bridge.counters["duplicates"] == 5)
    assert Reading.objects.filter(device=meter).count() == 5


def test_garbage_is_counted_and_the_bridge_carries_on(
    bridge: Bridge, publisher: mqtt.Client, meter: Any, other_meter: Any
) -> None:
    key = meter.api_key
    send(publisher, meter.pk, "telemetry", b"\x00\xff not json", raw=True)
    send(publisher, meter.pk, "telemetry", [1, 2, 3])
    send(publisher, meter.pk, "telemetry", {**reading(voltage=900), "key": key})
    send(publisher, meter.pk, "status", {"status": "sleeping", "key": key})
    send(publisher, meter.pk, "acks", {"status": "acknowledged", "key": key})
    publisher.publish(
        f"{topic(0, 'x').rsplit('/', 2)[0]}/abc/telemetry", b"{}", qos=1
    ).wait_for_publish(5)
    pump(bridge, lambda: bridge.counters["malformed"] == 6)
    # no key, a wrong key, and a real key of another device on this device's topic
    send(publisher, meter.pk, "telemetry", reading())
    send(publisher, meter.pk, "telemetry", {**reading(), "key": "gt_0123456789ab_nope"})
    send(publisher, meter.pk, "telemetry", {**reading(), "key": other_meter.api_key})
    pump(bridge, lambda: bridge.counters["unauthorized"] == 3)
    assert not Reading.objects.exists()
    send(publisher, meter.pk, "telemetry", {**reading(seq=1), "key": key})
    pump(bridge, lambda: bridge.counters["stored"] == 1)
    assert bridge.counters["errors"] == 0


def test_a_malformed_message_is_logged_without_its_key(
    bridge: Bridge,
    publisher: mqtt.Client,
    meter: Any,
    caplog: pytest.LogCaptureFixture,
    console_log: io.StringIO,
) -> None:
    """The bridge logs the head of a malformed message: the device key in it is redacted, in
    the captured records and in what the configured console handler writes."""
    key = meter.api_key
    secret = key.rsplit("_", 1)[1]
    not_json = b'{"key": "' + key.encode() + b'", "readings": [{"power_w": 1.0,'
    send(publisher, meter.pk, "telemetry", not_json, raw=True)
    send(publisher, meter.pk, "telemetry", {"key": key, **reading(voltage=900)})  # out of range
    send(publisher, meter.pk, "status", {"key": key, "status": "sleeping"})
    pump(bridge, lambda: bridge.counters["malformed"] == 3)
    for log in (caplog.text, console_log.getvalue()):
        assert log.count("dropped a malformed message") == 3
        assert "not JSON" in log and "invalid telemetry" in log
        assert secret not in log and key not in log
        assert '{"key": "[REDACTED]"' in log


def test_a_rotated_key_is_refused_at_once(
    bridge: Bridge, publisher: mqtt.Client, meter: Any, user: Any
) -> None:
    send(publisher, meter.pk, "telemetry", {**reading(seq=1), "key": meter.api_key})
    pump(bridge, lambda: bridge.counters["stored"] == 1)
    hardware.device_api_key_rotate(user_id=user.pk, device_id=meter.pk)
    send(publisher, meter.pk, "telemetry", {**reading(seq=2), "key": meter.api_key})
    pump(bridge, lambda: bridge.counters["unauthorized"] == 1)
    assert Reading.objects.count() == 1


def test_the_last_will_marks_the_device_offline_and_alerts(
    bridge: Bridge, meter: Any, user: Any
) -> None:
    device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-dev-{uuid.uuid4().hex[:8]}")
    offline = orjson.dumps({"status": "offline", "key": meter.api_key})
    device.will_set(topic(meter.pk, "status"), offline, qos=1)
    device.connect(*mqtt_host_port(django_settings.MQTT_URL), keepalive=5)
    device.loop_start()
    online = orjson.dumps({"status": "online", "key": meter.api_key})
    device.publish(topic(meter.pk, "status"), online, qos=1).wait_for_publish(5)
    pump(bridge, lambda: Device.objects.get(pk=meter.pk).status == "online")
    device.loop_stop()
    sock = device.socket()
    assert sock is not None
    sock.close()  # the connection drops without DISCONNECT: the broker sends the will
    pump(bridge, lambda: Device.objects.get(pk=meter.pk).status == "offline", timeout_s=15)
    alert = Alert.objects.get(device=meter)
    assert alert.kind == "offline" and alert.resolved_at is None


def test_acks_over_mqtt_close_commands(
    bridge: Bridge, publisher: mqtt.Client, meter: Any, user: Any
) -> None:
    cmd = hardware.command_send(user_id=user.pk, device_id=meter.pk, command="ping")
    ack = {"id": str(cmd.pk), "status": "acknowledged", "result": {"pong": True}}
    send(publisher, meter.pk, "acks", {**ack, "key": meter.api_key})
    pump(bridge, lambda: bridge.counters["acks"] == 1)
    cmd.refresh_from_db()
    assert cmd.status == "acknowledged" and cmd.result == {"pong": True}
    assert DeviceCommand.objects.get(pk=cmd.pk).acked_at is not None
