"""A device's view of the broker for command tests: every message on ``…/+/commands``."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from django.conf import settings
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from config.local_servers import mqtt_host_port


class Listener:
    """Subscribed to every device's command topic until the fixture ends."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-listen-{uuid.uuid4().hex[:8]}"
        )
        self.client.on_message = lambda _c, _u, m: self.messages.append(
            (m.topic, orjson.loads(m.payload))
        )
        self.client.on_subscribe = lambda *_: self.ready.set()
        self.client.connect(*mqtt_host_port(settings.MQTT_URL))
        self.client.subscribe(f"{settings.MQTT_TOPIC_PREFIX}/+/commands", qos=1)
        self.client.loop_start()
        assert self.ready.wait(5)

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.client.disconnect()
    listening.client.loop_stop()
