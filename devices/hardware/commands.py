"""Commands to devices: sent, retried with backoff, acknowledged or expired; simulated devices
apply theirs at once."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from devices import errors, selectors, services
from devices.hardware.common import (
    METER_COMMANDS,
    OPEN_COMMAND_STATUSES,
    SIMULATED_COMMANDS,
    now_utc,
)
from devices.hardware.common import invalid as _invalid
from devices.hardware.keys import DeviceAuth
from devices.models import (
    Battery,
    CommandStatus,
    Device,
    DeviceCommand,
    DeviceKind,
    DeviceSource,
    DeviceStatus,
    ElectricVehicle,
    EnergyMeter,
    EvMode,
)
from devices.validators import MAX_POWER_W
from monitoring import metrics

logger = logging.getLogger(__name__)


# Commands
# ---------------------------------------------------------------------------------------------


def command_topic(device_id: int, leaf: str = "commands") -> str:
    return f"{settings.MQTT_TOPIC_PREFIX}/{device_id}/{leaf}"


def _command_message(command: DeviceCommand) -> dict[str, Any]:
    return {"id": str(command.id), "command": command.command, "args": command.args}


def _retry_delay(attempts: int) -> timedelta:
    """Doubling from ``COMMAND_RETRY_BASE_S``, never past a command's lifetime: a device that polls
    often counts an attempt per poll, and an unbounded doubling soon overflows the date."""
    doublings = min(max(attempts - 1, 0), 62)
    delay_s = min(settings.COMMAND_RETRY_BASE_S * 2**doublings, settings.COMMAND_TTL_S)
    return timedelta(seconds=delay_s)


# The arguments each command takes. Any other is refused, so what is stored and sent holds only
# checked values (free text could carry NUL, which PostgreSQL's JSON cannot store).
_ARGS: dict[str, tuple[str, ...]] = {
    "ping": (),
    "reset_energy": (),
    "reboot": (),
    "set_interval": ("seconds",),
    "set_ev_mode": ("mode",),
    "set_setpoint": ("setpoint_c",),
    "set_battery_reserve": ("min_soc",),
    "set_generator_running": ("running",),
    "set_power": ("power_w", "until"),
}
# The kinds a plan gives a power to (planner.inputs.HomeDevices.planned).
SET_POWER_KINDS = frozenset({
    DeviceKind.BATTERY, DeviceKind.ELECTRIC_VEHICLE, DeviceKind.HEATER,
    DeviceKind.AIR_CONDITIONER, DeviceKind.GENERATOR,
})  # fmt: skip


def _only_known_args(command: str, args: Mapping[str, Any]) -> None:
    expected = _ARGS[command]
    if set(args) - set(expected):
        takes = ", ".join(expected) if expected else "no arguments"
        raise _invalid("args", f"Unknown argument; {command} takes {takes}.", "invalid")


def _validate_meter_command(command: str, args: Mapping[str, Any]) -> None:
    if command not in METER_COMMANDS:
        choices = ", ".join(sorted(METER_COMMANDS))
        raise _invalid("command", f"Unknown command; one of {choices}.", "unknown")
    _only_known_args(command, args)
    if command == "set_interval":
        seconds = args.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= 3600:
            raise _invalid("args", "set_interval needs {seconds: an integer 1..3600}.", "invalid")


def command_send(
    *, user_id: int, device_id: int | str, command: str, args: Mapping[str, Any] | None = None
) -> DeviceCommand:
    """Send a command to one of the user's devices.

    Physical devices: stored ``pending`` and published on ``…/{id}/commands`` when the device is
    online (``sent``); an offline device's command waits until the device reports again or the
    command expires (``COMMAND_TTL_S``). Simulated devices apply it at once (``acknowledged``).
    """
    args = dict(args or {})
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise errors.not_found("device_id", "Device") from None
    if device.source == DeviceSource.SIMULATED:
        return _command_apply_simulated(user_id=user_id, device=device, command=command, args=args)
    return command_issue(device=device, command=command, args=args)


def command_issue(
    *,
    device: Device,
    command: str,
    args: Mapping[str, Any],
    now: datetime | None = None,
    after_commit: bool = False,
) -> DeviceCommand:
    """Store a command to a physical device (checked for the device) as ``pending`` and publish
    it when the device is online: at once, or with ``after_commit`` once the current
    transaction commits (a device may answer before a later commit). For callers that have
    already decided the device is theirs to command (``command_send``, the planner)."""
    now = now or now_utc()
    args = _validate_physical_command(device, command, args)
    cmd = DeviceCommand.objects.create(
        device=device,
        command=command,
        args=args,
        expires_at=now + timedelta(seconds=settings.COMMAND_TTL_S),
        next_attempt_at=now,
    )
    metrics.commands_counted(CommandStatus.PENDING)
    if device.status == DeviceStatus.ONLINE:
        if after_commit:
            transaction.on_commit(lambda: command_publish(command=cmd), robust=True)
        else:
            command_publish(command=cmd, now=now)
    return cmd


def _validate_physical_command(
    device: Device, command: str, args: Mapping[str, Any]
) -> dict[str, Any]:
    """The command's checked arguments: a meter takes the meter commands, any other physical
    device those and ``set_power`` (when a plan drives its kind)."""
    if command != "set_power" or device.kind == DeviceKind.ENERGY_METER:
        if command == "set_power":
            raise _invalid(
                "command",
                "set_power applies to batteries, cars, heaters, air conditioners and "
                "generators, not to an energy meter.",
                "wrong_kind",
            )
        _validate_meter_command(command, args)
        return dict(args)
    if device.kind not in SET_POWER_KINDS:
        raise _invalid("command", f"set_power does not apply to a {device.kind}.", "wrong_kind")
    _only_known_args(command, args)
    if "power_w" not in args or "until" not in args:
        raise _invalid("args", "set_power needs {power_w, until}.", "invalid")
    power_w = _float(args["power_w"])
    if abs(power_w) > MAX_POWER_W:
        raise _invalid("args", f"power_w must be within ±{MAX_POWER_W:.0f} W.", "invalid")
    until = args["until"]
    try:
        end = datetime.fromisoformat(until) if isinstance(until, str) else None
    except ValueError:
        end = None
    if end is None or end.tzinfo is None:
        raise _invalid("args", "until must be an ISO-8601 instant with its offset.", "invalid")
    return {"power_w": power_w, "until": end.isoformat()}


def _command_apply_simulated(
    *, user_id: int, device: Device, command: str, args: Mapping[str, Any]
) -> DeviceCommand:
    if command not in SIMULATED_COMMANDS:
        choices = ", ".join(sorted(SIMULATED_COMMANDS))
        raise _invalid("command", f"Unknown command; one of {choices}.", "unknown")
    _only_known_args(command, args)

    def arg(name: str) -> Any:
        if name not in args:
            raise _invalid("args", f"{command} needs {{{name}}}.", "invalid")
        return args[name]

    def wrong_kind() -> ValidationError:
        return _invalid("command", f"{command} does not apply to a {device.kind}.", "wrong_kind")

    with transaction.atomic():
        if command == "set_ev_mode":
            try:
                mode = EvMode(arg("mode"))
            except ValueError:
                raise _invalid("args", "Unknown mode.", "invalid") from None
            services.electric_vehicle_set_mode(user_id=user_id, device_id=device.pk, mode=mode)
        elif command == "set_setpoint":
            if device.kind not in (DeviceKind.HEATER, DeviceKind.AIR_CONDITIONER):
                raise wrong_kind()
            services.device_update(
                user_id=user_id, device_id=device.pk, setpoint_c=_float(arg("setpoint_c"))
            )
        elif command == "set_battery_reserve":
            if isinstance(device, Battery):
                fields = {"min_soc": _float(arg("min_soc"))}
            elif isinstance(device, ElectricVehicle):
                fields = {"reserve_soc": _float(arg("min_soc"))}
            else:
                raise wrong_kind()
            services.device_update(user_id=user_id, device_id=device.pk, **fields)
        else:  # set_generator_running
            running = arg("running")
            if device.kind != DeviceKind.GENERATOR:
                raise wrong_kind()
            if not isinstance(running, bool):
                raise _invalid("args", "running must be true or false.", "invalid")
            services.device_update(user_id=user_id, device_id=device.pk, running=running)
        now = now_utc()
        cmd = DeviceCommand.objects.create(
            device=device,
            command=command,
            args=dict(args),
            status=CommandStatus.ACKNOWLEDGED,
            attempts=1,
            sent_at=now,
            acked_at=now,
            expires_at=now,
            result={"applied": True},
        )
    metrics.commands_counted(CommandStatus.ACKNOWLEDGED)
    # The service that changed the parameters asked for one on-demand step after commit.
    return cmd


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid("args", "Must be a number.", "invalid")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise _invalid("args", "Must be a finite number.", "not_finite")
    return number


def mqtt_publish(topic: str, payload: bytes, *, qos: int = 1) -> None:
    """Publish one message on the broker at ``MQTT_URL`` (raises OSError when unreachable)."""
    from paho.mqtt import publish

    url = urlsplit(settings.MQTT_URL)
    auth = {"username": url.username, "password": url.password} if url.username else None
    publish.single(
        topic,
        payload,
        qos=qos,
        hostname=url.hostname or "127.0.0.1",
        port=url.port or 1883,
        auth=auth,  # type: ignore[arg-type]
        client_id=f"gridtwin-cmd-{uuid.uuid4().hex[:12]}",
    )


def command_publish(*, command: DeviceCommand, now: datetime | None = None) -> bool:
    """Publish a command and count the attempt; on broker trouble leave it for the retry. A
    command that cannot be encoded at all fails alone (logged), never the batch it is in."""
    now = now or now_utc()
    try:
        payload = orjson.dumps(_command_message(command))
    except orjson.JSONEncodeError as exc:  # stored before its arguments were checked
        logger.warning("command %s cannot be sent (%s); marked failed", command.id, exc)
        command.status = CommandStatus.FAILED
        command.result = {"error": "Its arguments cannot be sent."}
        command.save(update_fields=["status", "result"])
        return False
    try:
        mqtt_publish(command_topic(command.device_id), payload)
    except (OSError, ValueError) as exc:
        logger.warning("could not publish command %s: %s", command.id, exc)
        command.next_attempt_at = now + _retry_delay(1)
        command.save(update_fields=["next_attempt_at"])
        return False
    _mark_sent(command, now)
    return True


def _mark_sent(command: DeviceCommand, now: datetime) -> None:
    command.attempts += 1
    command.status = CommandStatus.SENT
    command.sent_at = now
    command.next_attempt_at = now + _retry_delay(command.attempts)
    command.save(update_fields=["attempts", "status", "sent_at", "next_attempt_at"])
    metrics.commands_counted(CommandStatus.SENT)


def commands_dispatch(*, device_ids: Sequence[int], now: datetime | None = None) -> int:
    """Publish the pending commands of devices that just came online; returns how many."""
    now = now or now_utc()
    sent = 0
    pending = DeviceCommand.objects.filter(
        device_id__in=device_ids, status=CommandStatus.PENDING, expires_at__gt=now
    ).order_by("created_at")
    for cmd in pending:
        sent += command_publish(command=cmd, now=now)
    return sent


def commands_retry(*, now: datetime | None = None) -> dict[str, int]:
    """Expire overdue commands, re-send unacknowledged ones with backoff, send pending ones
    whose device is online. A command sent ``COMMAND_MAX_ATTEMPTS`` times expires; one that
    cannot be sent at all fails (``failed``) and the others go out."""
    now = now or now_utc()
    expired = DeviceCommand.objects.filter(
        status__in=OPEN_COMMAND_STATUSES, expires_at__lte=now
    ).update(status=CommandStatus.EXPIRED)
    expired += DeviceCommand.objects.filter(
        status=CommandStatus.SENT,
        attempts__gte=settings.COMMAND_MAX_ATTEMPTS,
        next_attempt_at__lte=now,
    ).update(status=CommandStatus.EXPIRED)
    metrics.commands_counted(CommandStatus.EXPIRED, expired)
    due = DeviceCommand.objects.filter(
        status__in=OPEN_COMMAND_STATUSES,
        next_attempt_at__lte=now,
        device__status=DeviceStatus.ONLINE,
    ).order_by("next_attempt_at")[:1000]
    resent = failed = 0
    for cmd in due:
        resent += command_publish(command=cmd, now=now)
        failed += cmd.status == CommandStatus.FAILED
    return {"expired": expired, "resent": resent, "failed": failed}


def _storable(value: Any) -> bool:
    """JSON that PostgreSQL can store: no NUL in any string or key (NaN and infinities never
    get here: they are not JSON). A loop, not recursion: JSON may nest deeper than Python."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return False
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


class CommandNotFound(Exception):
    """No such command for this device (or not this device's)."""


class CommandClosed(Exception):
    """The command expired, or was already answered differently."""

    def __init__(self, status: str) -> None:
        super().__init__(f"Command is {status}.")
        self.status = status


def commands_poll(*, device: DeviceAuth, now: datetime | None = None) -> list[dict[str, Any]]:
    """Commands waiting for an HTTP-polling device; they count as sent (and the poll as a sign
    of life)."""
    now = now or now_utc()
    with transaction.atomic():
        waiting = list(
            DeviceCommand.objects.select_for_update(skip_locked=True)
            .filter(
                device_id=device.device_id,
                status__in=OPEN_COMMAND_STATUSES,
                expires_at__gt=now,
            )
            .order_by("created_at")[:50]
        )
        for cmd in waiting:
            _mark_sent(cmd, now)
    return [_command_message(cmd) for cmd in waiting]


def command_ack(
    *,
    device_id: int,
    command_id: str,
    status: str,
    result: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> DeviceCommand:
    """Record the device's answer. Repeating the same answer is harmless."""
    if status not in (CommandStatus.ACKNOWLEDGED, CommandStatus.FAILED):
        raise _invalid("status", "Must be acknowledged or failed.", "invalid")
    if result is not None and not isinstance(result, Mapping):
        raise _invalid("result", "Must be an object.", "invalid")
    if result is not None and not _storable(result):
        raise _invalid("result", "Text must not contain NUL characters.", "invalid")
    try:
        pk = uuid.UUID(str(command_id))
    except ValueError:
        raise CommandNotFound from None
    now = now or now_utc()
    with transaction.atomic():
        try:
            cmd = DeviceCommand.objects.select_for_update().get(pk=pk, device_id=device_id)
        except DeviceCommand.DoesNotExist:
            raise CommandNotFound from None
        if cmd.status in (CommandStatus.ACKNOWLEDGED, CommandStatus.FAILED):
            if cmd.status == status:
                return cmd
            raise CommandClosed(cmd.status)
        if cmd.status == CommandStatus.EXPIRED:
            raise CommandClosed(cmd.status)
        cmd.status = status
        cmd.acked_at = now
        cmd.result = dict(result or {})
        cmd.save(update_fields=["status", "acked_at", "result"])
        if status == CommandStatus.ACKNOWLEDGED and cmd.command == "set_interval":
            EnergyMeter.objects.filter(pk=device_id).update(
                reporting_interval_s=int(cmd.args["seconds"])
            )
    metrics.commands_counted(status)
    return cmd
