"""Fixtures of the ingest tests: an MQTT client publishing to the real broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from config.local_servers import mqtt_host_port


@pytest.fixture
def publisher() -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.connect(*mqtt_host_port(django_settings.MQTT_URL))
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()
