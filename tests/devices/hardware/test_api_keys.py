"""rotateDeviceApiKey: shown once, stored as prefix + HMAC, the old key dies at once, owner only."""

from __future__ import annotations

from typing import Any

import pytest

from devices import hardware
from devices.models import Device
from tests.asgi_client import Client
from tests.conftest import GraphQLClient
from tests.devices.factories import EnergyMeterFactory, SolarPanelFactory
from tests.devices.support import (  # noqa: F401
    _ingest_in_test_thread,
    _private_mqtt_topics,
    post,
    reading,
)

pytestmark = pytest.mark.django_db

ROTATE = """
mutation($deviceId: ID!) { rotateDeviceApiKey(deviceId: $deviceId) { deviceId key prefix } }"""


def test_rotate_shows_the_key_once_and_keeps_only_prefix_and_hmac(
    gql: GraphQLClient, user: Any
) -> None:
    device = EnergyMeterFactory(home__owner=user)
    result = gql(ROTATE, {"deviceId": device.pk})
    assert "errors" not in result, result
    payload = result["data"]["rotateDeviceApiKey"]
    key = payload["key"]
    assert payload["deviceId"] == str(device.pk)
    assert key.startswith("gt_" + payload["prefix"] + "_") and len(key) > 50
    stored = Device.objects.get(pk=device.pk)
    assert stored.api_key_prefix == payload["prefix"]
    assert stored.api_key_hash == hardware.key_hash(key) and key not in stored.api_key_hash
    assert hardware.device_authenticate(key=key) is not None


def test_the_old_key_stops_working_at_once(gql: GraphQLClient, user: Any) -> None:
    device = EnergyMeterFactory(home__owner=user)
    old = gql(ROTATE, {"deviceId": device.pk})["data"]["rotateDeviceApiKey"]["key"]
    assert post(Client(), old, reading(seq=1)).status_code == 201
    new = gql(ROTATE, {"deviceId": device.pk})["data"]["rotateDeviceApiKey"]["key"]
    assert new != old
    assert post(Client(), old, reading(seq=2)).status_code == 401
    assert post(Client(), new, reading(seq=3)).status_code == 201


def test_another_users_device_reads_as_missing(
    other_gql: GraphQLClient, gql: GraphQLClient, user: Any
) -> None:
    device = EnergyMeterFactory(home__owner=user)
    theirs = other_gql(ROTATE, {"deviceId": device.pk})
    missing = gql(ROTATE, {"deviceId": 999_999})
    for result in (theirs, missing):
        assert result["data"] is None
        assert result["errors"][0]["message"] == "Device not found."
        assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert Device.objects.get(pk=device.pk).api_key_hash == ""


def test_simulated_devices_have_no_keys(gql: GraphQLClient, user: Any) -> None:
    panel = SolarPanelFactory(home__owner=user)
    result = gql(ROTATE, {"deviceId": panel.pk})
    assert result["errors"][0]["message"] == "Only physical devices have API keys."


def test_anonymous_callers_are_refused(anon: GraphQLClient, user: Any) -> None:
    device = EnergyMeterFactory(home__owner=user)
    result = anon(ROTATE, {"deviceId": device.pk})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_malformed_keys_are_refused_without_a_lookup() -> None:
    assert hardware.key_prefix("gt_short") is None
    assert hardware.key_prefix("xx_0123456789ab_secret") is None
    assert hardware.key_prefix("gt_0123456789ab_" + "s" * 300) is None
    assert hardware.device_authenticate(key="gt_0123456789ab_secret") is None
