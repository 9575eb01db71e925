"""Heartbeats and alerts: offline detection, thresholds raised once and resolved, events,
the alerts query and resolveAlert, isolation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from freezegun import freeze_time

import graphql_api.schema  # noqa: F401  (typed before freezegun swaps datetime)
from devices import hardware
from devices.live import channels, keys, store
from devices.models import Alert, Device
from tests import live_values
from tests.asgi_client import Client
from tests.conftest import GraphQLClient
from tests.devices.factories import BatteryFactory
from tests.devices.support import (  # noqa: F401
    _ingest_in_test_thread,
    _private_mqtt_topics,
    meter_fixture,
    other_meter_fixture,
    post,
    reading,
)

pytestmark = pytest.mark.django_db

OP_INFO = "... on OperationInfo { messages { field message code } }"
ALERTS = """
query($resolved: Boolean) {
  alerts(resolved: $resolved) {
    id deviceId kind severity message value raisedAt resolvedAt resolved
  }
}"""
RESOLVE = f"""
mutation($id: ID!) {{ resolveAlert(id: $id) {{ ... on Alert {{ id resolved }} {OP_INFO} }} }}"""
SET_RULE = f"""
mutation($deviceId: ID!, $input: AlertRuleInput!) {{
  setAlertRule(deviceId: $deviceId, input: $input) {{
    ... on AlertRule {{ deviceId powerMaxW voltageMinV voltageMaxV batteryMinSoc offline }}
    {OP_INFO}
  }}
}}"""
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Events:
    """Messages on Redis pub/sub channels, as the subscriptions engineer's code receives them."""

    def __init__(self, *channels: str) -> None:
        self.pubsub = store.client().pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(*channels)

    def drain(self, quiet_s: float = 0.3) -> list[tuple[str, dict[str, Any]]]:
        """Everything until the channels stay quiet for ``quiet_s``."""
        got = []
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < quiet_s:
            message = self.pubsub.get_message(timeout=0.05)
            if message is not None:
                got.append((message["channel"].decode(), orjson.loads(message["data"])))
                idle_since = time.monotonic()
        return got


@pytest.fixture
def events(user: Any, meter: Any) -> Iterator[Events]:
    listening = Events(channels.alerts_channel(user.pk), channels.device_channel(meter.pk))
    listening.drain()
    yield listening
    listening.pubsub.close()


def test_a_silent_device_goes_offline_alerts_once_and_recovers(
    meter: Any, user: Any, events: Events
) -> None:
    with freeze_time(T0) as clock:
        assert post(Client(), meter.api_key, reading(seq=1)).status_code == 201
        hardware.seen_flush()
        assert Device.objects.get(pk=meter.pk).status == "online"
        clock.tick(19)  # within twice the 10 s interval
        assert hardware.heartbeat_check() == []
        clock.tick(2)
        assert hardware.heartbeat_check() == [meter.pk]
        assert hardware.heartbeat_check() == []  # already offline: no second alert
        device = Device.objects.get(pk=meter.pk)
        assert device.status == "offline"
        alert = Alert.objects.get(device=meter)
        assert (alert.kind, alert.resolved_at) == ("offline", None)
        current = live_values.read_many([keys.device_current_key(meter.pk)])[0]
        assert current is not None and current["status"] == "offline"
        clock.tick(30)
        assert post(Client(), meter.api_key, reading(seq=2)).status_code == 201
        hardware.seen_flush()
    assert Device.objects.get(pk=meter.pk).status == "online"
    alert.refresh_from_db()
    assert alert.resolved_at == T0 + timedelta(seconds=51)
    got = events.drain()
    alerts = [m for channel, m in got if channel == channels.alerts_channel(user.pk)]
    assert [(a["kind"], a["resolved"]) for a in alerts] == [("offline", False), ("offline", True)]
    assert set(alerts[0]) == {
        "id", "device_id", "kind", "message", "severity", "raised_at", "resolved_at", "resolved",
    }  # fmt: skip
    statuses = [
        m.get("status") for channel, m in got if channel == channels.device_channel(meter.pk)
    ]
    assert "offline" in statuses and statuses[-1] == "online"


def test_the_heartbeat_task_follows_each_devices_interval(meter: Any, other_meter: Any) -> None:
    from devices.tasks import heartbeat_check_task

    Device.objects.filter(pk__in=[meter.pk, other_meter.pk]).update(
        status="online", last_seen_at=T0
    )
    type(meter).objects.filter(pk=other_meter.pk).update(reporting_interval_s=60)
    with freeze_time(T0 + timedelta(seconds=30)):
        heartbeat_check_task()
    assert Device.objects.get(pk=meter.pk).status == "offline"
    assert Device.objects.get(pk=other_meter.pk).status == "online"


def test_offline_alerts_can_be_switched_off(gql: GraphQLClient, meter: Any) -> None:
    gql(SET_RULE, {"deviceId": meter.pk, "input": {"offline": False}})
    Device.objects.filter(pk=meter.pk).update(status="online", last_seen_at=T0)
    with freeze_time(T0 + timedelta(minutes=5)):
        assert hardware.heartbeat_check() == [meter.pk]
    assert not Alert.objects.exists()


def test_thresholds_raise_once_and_resolve(gql: GraphQLClient, meter: Any, user: Any) -> None:
    rule = gql(
        SET_RULE,
        {
            "deviceId": meter.pk,
            "input": {"powerMaxW": 1000, "voltageMinV": 210, "voltageMaxV": 250},
        },
    )["data"]["setAlertRule"]
    assert rule["powerMaxW"] == 1000 and rule["offline"] is True

    def send(**fields: Any) -> None:
        assert post(Client(), meter.api_key, reading(**fields)).status_code == 201
        hardware.seen_flush()

    send(seq=1, power=1500.0)
    send(seq=2, power=1600.0)
    power = Alert.objects.get(kind="power_high")
    assert power.value == 1500.0 and power.severity == "warning"
    send(seq=3, power=500.0, voltage=262.0)
    power.refresh_from_db()
    assert power.resolved_at is not None
    voltage = Alert.objects.get(kind="voltage_out_of_range")
    assert voltage.severity == "critical" and voltage.resolved_at is None
    send(seq=4, power=1200.0, voltage=231.0)
    assert Alert.objects.filter(kind="power_high").count() == 2  # a new episode
    open_kinds = set(Alert.objects.filter(resolved_at=None).values_list("kind", flat=True))
    assert open_kinds == {"power_high"}


def test_battery_low_from_the_live_storage_key(gql: GraphQLClient, user: Any) -> None:
    battery = BatteryFactory(home__owner=user, status="online")
    gql(SET_RULE, {"deviceId": battery.pk, "input": {"batteryMinSoc": 0.2}})
    key = keys.device_storage_key(battery.pk)
    live_values.write_many([(key, {"capacity_wh": 10_000, "level_wh": 1_500, "flow_w": -300})])
    hardware.alerts_check()
    hardware.alerts_check()
    alert = Alert.objects.get(device=battery)
    assert alert.kind == "battery_low" and alert.value == pytest.approx(0.15)
    live_values.write_many([(key, {"capacity_wh": 10_000, "level_wh": 5_000, "flow_w": 800})])
    hardware.alerts_check()
    assert Alert.objects.get(device=battery).resolved_at is not None


def test_alerts_query_filters_and_resolve_alert(gql: GraphQLClient, meter: Any, user: Any) -> None:
    a = hardware.alert_raise(device_id=meter.pk, owner_id=user.pk, kind="power_high", message="hot")
    b = hardware.alert_raise(device_id=meter.pk, owner_id=user.pk, kind="offline", message="gone")
    assert a is not None and b is not None
    assert (
        hardware.alert_raise(device_id=meter.pk, owner_id=user.pk, kind="offline", message="x")
        is None
    )
    everything = gql(ALERTS)["data"]["alerts"]
    assert {x["kind"] for x in everything} == {"POWER_HIGH", "OFFLINE"}
    resolved = gql(RESOLVE, {"id": a.pk})["data"]["resolveAlert"]
    assert resolved == {"id": str(a.pk), "resolved": True}
    assert [x["id"] for x in gql(ALERTS, {"resolved": True})["data"]["alerts"]] == [str(a.pk)]
    assert [x["id"] for x in gql(ALERTS, {"resolved": False})["data"]["alerts"]] == [str(b.pk)]


def test_alerts_of_another_user_are_invisible(
    gql: GraphQLClient, other_gql: GraphQLClient, meter: Any, user: Any
) -> None:
    alert = hardware.alert_raise(device_id=meter.pk, owner_id=user.pk, kind="offline", message="x")
    assert alert is not None
    assert other_gql(ALERTS)["data"]["alerts"] == []
    refused = other_gql(RESOLVE, {"id": alert.pk})["data"]["resolveAlert"]
    assert refused["messages"][0]["message"] == "Alert not found."
    assert Alert.objects.get(pk=alert.pk).resolved_at is None
    rule = other_gql(SET_RULE, {"deviceId": meter.pk, "input": {"powerMaxW": 1}})
    assert rule["data"]["setAlertRule"]["messages"][0]["message"] == "Device not found."
    read = other_gql("query($d: ID!) { alertRule(deviceId: $d) { powerMaxW } }", {"d": meter.pk})
    assert read["errors"][0]["message"] == "Device not found."


def test_rule_validation(gql: GraphQLClient, meter: Any) -> None:
    result = gql(
        SET_RULE, {"deviceId": meter.pk, "input": {"voltageMinV": 250, "voltageMaxV": 200}}
    )
    assert result["data"]["setAlertRule"]["messages"][0]["field"] == "voltageMaxV"
