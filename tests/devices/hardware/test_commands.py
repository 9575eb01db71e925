"""sendDeviceCommand: MQTT delivery, HTTP polling and acks, retries, expiry, offline devices,
simulated devices, isolation."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.test import Client
from freezegun import freeze_time

import graphql_api.schema  # noqa: F401  (typed before freezegun swaps datetime)
from devices import hardware
from devices.models import (
    Battery,
    DeviceCommand,
    ElectricVehicle,
    EnergyMeter,
    Generator,
    Heater,
)
from tests.asgi_client import Client as TelemetryClient
from tests.command_listener import Listener
from tests.conftest import GraphQLClient
from tests.devices.factories import (
    BatteryFactory,
    ElectricVehicleFactory,
    GeneratorFactory,
    HeaterFactory,
)
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
SEND = f"""
mutation($deviceId: ID!, $command: String!, $args: JSON) {{
  sendDeviceCommand(deviceId: $deviceId, command: $command, args: $args) {{
    ... on DeviceCommand {{ id deviceId command args status attempts result }}
    {OP_INFO}
  }}
}}"""
COMMANDS = "query($deviceId: ID!) { commands(deviceId: $deviceId) { id command status } }"


@pytest.fixture
def online_meter(meter: Any) -> Any:
    EnergyMeter.objects.filter(pk=meter.pk).update(status="online")
    meter.status = "online"
    return meter


def _poll(key: str | None) -> Any:
    headers = {"X-API-Key": key} if key else {}
    return Client().get("/api/v1/commands", headers=headers)


def _ack(key: str, command_id: str, body: dict[str, Any]) -> Any:
    return Client().post(
        f"/api/v1/commands/{command_id}/ack",
        data=orjson.dumps(body),
        content_type="application/json",
        headers={"X-API-Key": key},
    )


def test_a_command_goes_out_on_mqtt_and_is_acknowledged(
    gql: GraphQLClient, online_meter: Any, listener: Listener
) -> None:
    result = gql(
        SEND, {"deviceId": online_meter.pk, "command": "set_interval", "args": {"seconds": 5}}
    )
    sent = result["data"]["sendDeviceCommand"]
    assert sent["status"] == "SENT" and sent["attempts"] == 1, result
    [(topic, message)] = listener.wait_for(1)
    assert topic == f"{settings.MQTT_TOPIC_PREFIX}/{online_meter.pk}/commands"
    assert message == {"id": sent["id"], "command": "set_interval", "args": {"seconds": 5}}
    # The device answers (here over HTTP; MQTT acks are covered in test_mqtt_bridge).
    answer = _ack(
        online_meter.api_key, sent["id"], {"status": "acknowledged", "result": {"interval_s": 5}}
    )
    assert answer.status_code == 200 and answer.json()["status"] == "acknowledged"
    assert EnergyMeter.objects.get(pk=online_meter.pk).reporting_interval_s == 5
    listed = gql(COMMANDS, {"deviceId": online_meter.pk})["data"]["commands"]
    assert [(c["id"], c["status"]) for c in listed] == [(sent["id"], "ACKNOWLEDGED")]


def test_http_devices_poll_and_ack(online_meter: Any, user: Any) -> None:
    first = hardware.command_send(user_id=user.pk, device_id=online_meter.pk, command="ping")
    second = hardware.command_send(
        user_id=user.pk, device_id=online_meter.pk, command="reset_energy"
    )
    polled = _poll(online_meter.api_key)
    assert polled.status_code == 200
    assert polled.json() == {
        "commands": [
            {"id": str(first.pk), "command": "ping", "args": {}},
            {"id": str(second.pk), "command": "reset_energy", "args": {}},
        ]
    }
    assert DeviceCommand.objects.get(pk=first.pk).attempts == 2  # published once, polled once
    assert (
        _ack(
            online_meter.api_key, str(first.pk), {"status": "failed", "result": {"reason": "x"}}
        ).status_code
        == 200
    )
    assert DeviceCommand.objects.get(pk=first.pk).status == "failed"
    assert (
        _ack(online_meter.api_key, str(first.pk), {"status": "failed"}).status_code == 200
    )  # repeat
    assert _ack(online_meter.api_key, str(first.pk), {"status": "acknowledged"}).status_code == 409
    assert (
        _ack(online_meter.api_key, str(uuid.uuid4()), {"status": "acknowledged"}).status_code == 404
    )
    assert _ack(online_meter.api_key, "not-a-uuid", {"status": "acknowledged"}).status_code == 404
    assert _ack(online_meter.api_key, str(second.pk), {"status": "done"}).status_code == 400
    assert (
        _ack(online_meter.api_key, str(second.pk), {"status": "acknowledged", "x": 1}).status_code
        == 400
    )
    assert _poll(None).status_code == 401
    assert [c["id"] for c in _poll(online_meter.api_key).json()["commands"]] == [str(second.pk)]


def test_another_devices_command_cannot_be_polled_or_acked(
    online_meter: Any, other_meter: Any, user: Any
) -> None:
    cmd = hardware.command_send(user_id=user.pk, device_id=online_meter.pk, command="ping")
    assert _poll(other_meter.api_key).json() == {"commands": []}
    assert _ack(other_meter.api_key, str(cmd.pk), {"status": "acknowledged"}).status_code == 404
    assert DeviceCommand.objects.get(pk=cmd.pk).status == "sent"


def test_a_device_that_polls_often_keeps_getting_its_commands(online_meter: Any, user: Any) -> None:
    # given a command the device never acknowledges (found by generated requests: each poll
    # doubled the retry wait until the date overflowed and every poll answered 500)
    cmd = hardware.command_send(user_id=user.pk, device_id=online_meter.pk, command="ping")
    # when it polls many times
    for _ in range(80):
        polled = _poll(online_meter.api_key)
        assert polled.status_code == 200, polled.content
        assert [c["id"] for c in polled.json()["commands"]] == [str(cmd.pk)]
    # then the next retry is still within the command's lifetime
    cmd.refresh_from_db()
    assert cmd.attempts == 81 and cmd.status == "sent"
    assert cmd.next_attempt_at is not None and cmd.sent_at is not None
    assert cmd.next_attempt_at - cmd.sent_at <= timedelta(seconds=settings.COMMAND_TTL_S)


def test_an_unacknowledged_command_is_resent_with_backoff_then_expires(
    online_meter: Any, user: Any, monkeypatch: Any, settings: Any
) -> None:
    settings.COMMAND_MAX_ATTEMPTS = 3
    settings.COMMAND_RETRY_BASE_S = 10
    published: list[str] = []
    monkeypatch.setattr(
        hardware.commands, "mqtt_publish", lambda topic, payload, qos=1: published.append(topic)
    )
    with freeze_time("2026-11-23 12:00:00") as clock:
        cmd = hardware.command_send(user_id=user.pk, device_id=online_meter.pk, command="reboot")
        assert len(published) == 1
        clock.tick(5)
        assert hardware.commands_retry() == {"expired": 0, "resent": 0, "failed": 0}  # not due
        clock.tick(6)  # 11 s: first retry after 10 s
        assert hardware.commands_retry() == {"expired": 0, "resent": 1, "failed": 0}
        clock.tick(15)  # 26 s: the second waits 20 s
        assert hardware.commands_retry()["resent"] == 0
        clock.tick(6)  # 32 s
        assert hardware.commands_retry()["resent"] == 1
        assert DeviceCommand.objects.get(pk=cmd.pk).attempts == 3
        clock.tick(41)  # third attempt's wait is over: no more attempts
        assert hardware.commands_retry() == {"expired": 1, "resent": 0, "failed": 0}
    cmd.refresh_from_db()
    assert cmd.status == "expired" and len(published) == 3
    assert _ack(online_meter.api_key, str(cmd.pk), {"status": "acknowledged"}).status_code == 410


def test_a_command_to_an_offline_device_waits_until_it_reports(
    gql: GraphQLClient, meter: Any, listener: Listener
) -> None:
    assert meter.status == "offline"
    sent = gql(SEND, {"deviceId": meter.pk, "command": "ping"})["data"]["sendDeviceCommand"]
    assert sent["status"] == "PENDING" and sent["attempts"] == 0
    assert hardware.commands_retry()["resent"] == 0  # still offline: nothing goes out
    time.sleep(0.2)
    assert listener.messages == []
    assert post(TelemetryClient(), meter.api_key, reading(seq=1)).status_code == 201  # back online
    [(_, message)] = listener.wait_for(1)
    assert message["id"] == sent["id"]
    assert DeviceCommand.objects.get(pk=sent["id"]).status == "sent"


def test_a_pending_command_expires(meter: Any, user: Any, settings: Any) -> None:
    settings.COMMAND_TTL_S = 60
    with freeze_time("2026-11-23 12:00:00") as clock:
        cmd = hardware.command_send(user_id=user.pk, device_id=meter.pk, command="ping")
        clock.tick(61)
        assert hardware.commands_retry()["expired"] == 1
    assert DeviceCommand.objects.get(pk=cmd.pk).status == "expired"


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("format_disk", {}, "Unknown command"),
        ("set_interval", {"seconds": 0}, "set_interval needs"),
        ("set_interval", {}, "set_interval needs"),
    ],
)
def test_bad_meter_commands_are_refused(
    gql: GraphQLClient, online_meter: Any, command: str, args: dict[str, Any], message: str
) -> None:
    result = gql(SEND, {"deviceId": online_meter.pk, "command": command, "args": args})
    assert result["data"]["sendDeviceCommand"]["messages"][0]["message"].startswith(message)
    assert not DeviceCommand.objects.exists()


def test_simulated_devices_apply_commands_at_once(gql: GraphQLClient, user: Any) -> None:
    heater = HeaterFactory(home__owner=user, status="online")
    generator = GeneratorFactory(home__owner=user)
    ev = ElectricVehicleFactory(home__owner=user)
    battery = BatteryFactory(home__owner=user)
    cases = [
        (heater, "set_setpoint", {"setpoint_c": 22.5}),
        (generator, "set_generator_running", {"running": True}),
        (ev, "set_ev_mode", {"mode": "charging"}),
        (battery, "set_battery_reserve", {"min_soc": 0.25}),
        (ev, "set_battery_reserve", {"min_soc": 0.4}),
    ]
    for device, command, args in cases:
        result = gql(SEND, {"deviceId": device.pk, "command": command, "args": args})
        payload = result["data"]["sendDeviceCommand"]
        assert payload["status"] == "ACKNOWLEDGED", (command, result)
        assert payload["result"] == {"applied": True}
    assert Heater.objects.get(pk=heater.pk).setpoint_c == 22.5
    assert Generator.objects.get(pk=generator.pk).running is True
    assert ElectricVehicle.objects.get(pk=ev.pk).mode == "charging"
    assert ElectricVehicle.objects.get(pk=ev.pk).reserve_soc == 0.4
    assert Battery.objects.get(pk=battery.pk).min_soc == 0.25


@pytest.mark.parametrize(
    ("factory", "command", "args", "code"),
    [
        (HeaterFactory, "set_generator_running", {"running": True}, "wrong_kind"),
        (HeaterFactory, "set_setpoint", {"setpoint_c": 80}, None),  # model validation
        (HeaterFactory, "set_setpoint", {}, "invalid"),
        (GeneratorFactory, "set_generator_running", {"running": "yes"}, "invalid"),
        (ElectricVehicleFactory, "set_ev_mode", {"mode": "flying"}, "invalid"),
        (HeaterFactory, "reboot", {}, "unknown"),
    ],
)
def test_bad_simulated_commands_change_nothing(
    gql: GraphQLClient,
    user: Any,
    factory: Any,
    command: str,
    args: dict[str, Any],
    code: str | None,
) -> None:
    device = factory(home__owner=user)
    result = gql(SEND, {"deviceId": device.pk, "command": command, "args": args})
    messages = result["data"]["sendDeviceCommand"]["messages"]
    assert messages, result
    if code:
        assert messages[0]["code"] == code
    assert not DeviceCommand.objects.exists()


def settable(device: Any) -> dict[str, float]:
    """The parameters the simulated commands change."""
    names = ("setpoint_c", "min_soc", "reserve_soc")
    return {name: getattr(device, name) for name in names if hasattr(device, name)}


@pytest.mark.parametrize(
    ("factory", "command", "args"),
    [
        (HeaterFactory, "set_setpoint", {"setpoint_c": float("nan")}),
        (HeaterFactory, "set_setpoint", {"setpoint_c": float("inf")}),
        (HeaterFactory, "set_setpoint", {"setpoint_c": float("-inf")}),
        (HeaterFactory, "set_setpoint", {"setpoint_c": 10**400}),  # an integer beyond any float
        (BatteryFactory, "set_battery_reserve", {"min_soc": float("nan")}),
        (ElectricVehicleFactory, "set_battery_reserve", {"min_soc": float("inf")}),
    ],
)
def test_non_finite_command_arguments_are_a_field_error(
    gql: GraphQLClient, user: Any, factory: Any, command: str, args: dict[str, Any]
) -> None:
    device = factory(home__owner=user)
    before = type(device).objects.get(pk=device.pk)
    result = gql(SEND, {"deviceId": device.pk, "command": command, "args": args})
    assert "errors" not in result, result  # not "Unexpected error."
    [message] = result["data"]["sendDeviceCommand"]["messages"]
    assert (message["field"], message["code"]) == ("args", "not_finite")
    assert settable(type(device).objects.get(pk=device.pk)) == settable(before)
    assert not DeviceCommand.objects.exists()


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("ping", {"note": "a\x00b"}),
        ("reboot", {"delay_s": 5}),
        ("set_interval", {"seconds": 10, "extra": "\ud800"}),
    ],
)
def test_meter_commands_take_only_their_own_arguments(
    gql: GraphQLClient, online_meter: Any, command: str, args: dict[str, Any]
) -> None:
    result = gql(SEND, {"deviceId": online_meter.pk, "command": command, "args": args})
    assert "errors" not in result, result
    [message] = result["data"]["sendDeviceCommand"]["messages"]
    assert (message["field"], message["code"]) == ("args", "invalid")
    assert message["message"].startswith("Unknown argument;")
    assert not DeviceCommand.objects.exists()


def test_simulated_commands_take_only_their_own_arguments(gql: GraphQLClient, user: Any) -> None:
    heater = HeaterFactory(home__owner=user)
    args = {"setpoint_c": 21, "note": "\x00"}
    result = gql(SEND, {"deviceId": heater.pk, "command": "set_setpoint", "args": args})
    assert "errors" not in result, result
    [message] = result["data"]["sendDeviceCommand"]["messages"]
    assert message["message"] == "Unknown argument; set_setpoint takes setpoint_c."
    assert Heater.objects.get(pk=heater.pk).setpoint_c == 20.0
    assert not DeviceCommand.objects.exists()


def test_an_ack_result_with_nul_text_is_refused_and_the_command_stays_open(
    online_meter: Any, user: Any
) -> None:
    cmd = hardware.command_send(user_id=user.pk, device_id=online_meter.pk, command="ping")
    for result in ({"note": "a\x00b"}, {"a\x00": 1}, {"deep": [[{"x": "\x00"}]]}):
        response = _ack(online_meter.api_key, str(cmd.pk), {"status": "failed", "result": result})
        assert response.status_code == 400, response.content
        assert response.json()["errors"] == {"result": ["Text must not contain NUL characters."]}
    assert DeviceCommand.objects.get(pk=cmd.pk).status == "sent"
    ok = _ack(online_meter.api_key, str(cmd.pk), {"status": "acknowledged", "result": {"a": 1}})
    assert ok.status_code == 200


def test_another_users_device_cannot_be_commanded_or_listed(
    other_gql: GraphQLClient, online_meter: Any, user: Any
) -> None:
    heater = HeaterFactory(home__owner=user)
    for device_id, command in ((online_meter.pk, "ping"), (heater.pk, "set_setpoint")):
        args = {"setpoint_c": 21} if command == "set_setpoint" else {}
        result = other_gql(SEND, {"deviceId": device_id, "command": command, "args": args})
        assert result["data"]["sendDeviceCommand"]["messages"][0]["message"] == "Device not found."
    listed = other_gql(COMMANDS, {"deviceId": online_meter.pk})
    assert listed["data"] is None and listed["errors"][0]["message"] == "Device not found."
    assert not DeviceCommand.objects.exists()
    assert Heater.objects.get(pk=heater.pk).setpoint_c == 20.0


def test_a_command_that_cannot_be_sent_fails_alone(
    online_meter: Any, user: Any, listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    good = hardware.command_send(user_id=user.pk, device_id=online_meter.pk, command="ping")
    assert len(listener.wait_for(1)) == 1
    # Stored before arguments were checked: an integer no JSON encoder for MQTT can write.
    bad = DeviceCommand.objects.create(
        device=online_meter,
        command="set_interval",
        args={"seconds": 2**70},
        expires_at=good.expires_at,
        next_attempt_at=good.created_at - timedelta(seconds=2),
    )
    DeviceCommand.objects.filter(pk=good.pk).update(
        next_attempt_at=good.created_at - timedelta(seconds=1)
    )
    with caplog.at_level("WARNING", logger="devices.hardware.commands"):
        assert hardware.commands_retry() == {"expired": 0, "resent": 1, "failed": 1}
    assert [m["id"] for _, m in listener.wait_for(2)] == [str(good.pk), str(good.pk)]
    bad.refresh_from_db()
    assert bad.status == "failed" and bad.result == {"error": "Its arguments cannot be sent."}
    assert f"command {bad.pk} cannot be sent" in caplog.text
    assert hardware.commands_retry()["failed"] == 0  # failed once, for good


def test_commands_retry_task_runs(online_meter: Any, user: Any) -> None:
    from devices.tasks import commands_retry_task

    cmd = hardware.command_send(user_id=user.pk, device_id=online_meter.pk, command="ping")
    DeviceCommand.objects.filter(pk=cmd.pk).update(
        next_attempt_at=cmd.created_at - timedelta(seconds=1)
    )
    commands_retry_task()
    assert DeviceCommand.objects.get(pk=cmd.pk).attempts == 2
