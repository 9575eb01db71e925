"""Real hardware: device API keys, telemetry, heartbeats, commands, alerts, history.

Adapters (the HTTP views, the MQTT bridge, GraphQL resolvers, Celery tasks) parse and call one
function here. Live values go through :mod:`devices.state`; history goes to ``Reading`` in bulk.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from devices import selectors, services, state
from devices.ingest.validation import Reading as ValidReading
from devices.models import (
    Alert,
    AlertKind,
    AlertRule,
    AlertSeverity,
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
    Reading,
    ReadingHourly,
)

logger = logging.getLogger(__name__)

KEY_SCHEME = "gt_"
PREFIX_LENGTH = 12
DEFAULT_INTERVAL_S = 10
SEEN_FLUSH_EVERY_MS = 1000
KEY_CACHE_S = 60
READINGS_PAGE_MAX = 5000
METER_COMMANDS = frozenset({"ping", "reset_energy", "set_interval", "reboot"})
SIMULATED_COMMANDS = frozenset(
    {"set_ev_mode", "set_setpoint", "set_battery_reserve", "set_generator_running"}
)
OPEN_COMMAND_STATUSES = (CommandStatus.PENDING, CommandStatus.SENT)


def _invalid(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def now_utc() -> datetime:
    return timezone.now()


# ---------------------------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceAuth:
    """What ingest needs to know about an authenticated device."""

    device_id: int
    owner_id: int
    source: str
    status: str
    interval_s: int


def _key_secret() -> bytes:
    return str(settings.DEVICE_KEY_SECRET or settings.SECRET_KEY).encode()


def key_hash(key: str) -> str:
    """HMAC-SHA256 of the key under the server secret, hex."""
    return hmac.new(_key_secret(), key.encode(), hashlib.sha256).hexdigest()


def key_prefix(key: str) -> str | None:
    """The lookup prefix of a well-formed key (``gt_<12 hex>_<secret>``), else None."""
    if not key.startswith(KEY_SCHEME) or len(key) < len(KEY_SCHEME) + PREFIX_LENGTH + 2:
        return None
    if len(key) > 200 or key[len(KEY_SCHEME) + PREFIX_LENGTH] != "_":
        return None
    return key[len(KEY_SCHEME) : len(KEY_SCHEME) + PREFIX_LENGTH]


@dataclass(frozen=True, slots=True)
class RotatedKey:
    device_id: int
    key: str
    prefix: str


def device_api_key_rotate(*, user_id: int, device_id: int | str) -> RotatedKey:
    """Issue a new key for one of the user's physical devices; the old one stops working now.

    The key is returned once; only its prefix and HMAC are kept.
    """
    for _ in range(3):
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        key = f"{KEY_SCHEME}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                device = services._device_for_update(user_id=user_id, device_id=device_id)
                old_prefix = device.api_key_prefix
                if device.source != DeviceSource.PHYSICAL:
                    raise _invalid(
                        "device_id", "Only physical devices have API keys.", "not_physical"
                    )
                device.api_key_prefix = prefix
                device.api_key_hash = key_hash(key)
                device.save(update_fields=["api_key_prefix", "api_key_hash", "updated_at"])
        except IntegrityError:  # prefix collision: draw again
            continue
        if old_prefix:
            state.device_key_revoke(old_prefix, expire_s=2 * KEY_CACHE_S)
        _safe_publish(state.device_keys_channel(), {"device_id": device.pk})
        return RotatedKey(device_id=device.pk, key=key, prefix=prefix)
    raise RuntimeError("Could not draw a unique key prefix.")


def device_authenticate(*, key: str | None) -> DeviceAuth | None:
    """The device a key belongs to, or None. Compares hashes in constant time.

    Checks are cached in Redis for ``KEY_CACHE_S`` by prefix; rotating a key revokes the old
    prefix's entry at once.
    """
    if not key:
        return None
    prefix = key_prefix(key)
    computed = key_hash(key)
    if prefix is None:
        return None
    try:
        cached = state.device_key_get(prefix)
    except Exception:  # Redis trouble: ask PostgreSQL
        logger.warning("device key cache unavailable", exc_info=True)
        cached = None
    if cached is not None:
        if cached.get("revoked") or not hmac.compare_digest(str(cached["hash"]), computed):
            return None
        return DeviceAuth(
            device_id=int(cached["device_id"]),
            owner_id=int(cached["owner_id"]),
            source=str(cached["source"]),
            status=str(cached["status"]),
            interval_s=int(cached["interval_s"]),
        )
    row = (
        Device.objects.filter(api_key_prefix=prefix)
        .values_list(
            "id",
            "home__owner_id",
            "source",
            "status",
            "energymeter__reporting_interval_s",
            "api_key_hash",
        )
        .first()
    )
    if row is None or not row[5] or not hmac.compare_digest(row[5], computed):
        return None
    device = DeviceAuth(
        device_id=row[0],
        owner_id=row[1],
        source=row[2],
        status=row[3],
        interval_s=row[4] or DEFAULT_INTERVAL_S,
    )
    try:
        state.device_key_cache(
            prefix,
            {
                "hash": row[5],
                "device_id": device.device_id,
                "owner_id": device.owner_id,
                "source": device.source,
                "status": device.status,
                "interval_s": device.interval_s,
            },
            expire_s=KEY_CACHE_S,
        )
    except Exception:
        logger.warning("device key cache unavailable", exc_info=True)
    return device


def device_key_forget(*, key: str) -> None:
    """Drop a key's cached check (its device is gone)."""
    prefix = key_prefix(key)
    if prefix:
        state.device_key_revoke(prefix, expire_s=KEY_CACHE_S)


# ---------------------------------------------------------------------------------------------
# Telemetry
# ---------------------------------------------------------------------------------------------


class NotPhysical(Exception):
    """Only physical devices accept telemetry."""


class DeviceGone(Exception):
    """The key's device no longer exists."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    stored: list[ValidReading]

    @property
    def duplicates(self) -> int:
        return self.accepted - len(self.stored)

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "stored": len(self.stored),
            "duplicates": self.duplicates,
            "readings": [
                {"timestamp": r.measured_at.isoformat().replace("+00:00", "Z"), "seq": r.seq}
                for r in self.stored
            ],
        }


def live_ttl_s(interval_s: int) -> int:
    """Live keys of a meter outlive two reporting intervals and two ticks."""
    return max(2 * interval_s, state.ttl_s())


def telemetry_ingest(
    *, device: DeviceAuth, readings: Sequence[ValidReading], received_at: datetime | None = None
) -> IngestResult:
    """Store validated readings (duplicates ignored), then update live state; all or nothing."""
    if device.source != DeviceSource.PHYSICAL:
        raise NotPhysical
    received_at = received_at or now_utc()
    try:
        keys = readings_insert_returning(
            [(device.device_id, r) for r in readings], received_at=received_at
        )
    except IntegrityError:  # the device was deleted after its key check was cached
        raise DeviceGone from None
    stored = [r for r in readings if (device.device_id, r.measured_at) in keys]
    if telemetry_live([(device, stored)], received_at=received_at, try_flush=True):
        seen_flush()
    return IngestResult(accepted=len(readings), stored=stored)


def telemetry_live(
    batches: Iterable[tuple[DeviceAuth, Sequence[ValidReading]]],
    *,
    received_at: datetime,
    mark_seen: bool = True,
    try_flush: bool = False,
) -> bool:
    """Write each device's newest reading to its live key, its readings to the window, and
    record it as seen — one Redis round trip for all devices. With ``try_flush``, True when
    this caller should flush the seen devices now (at most once a second overall)."""
    updates: list[tuple[int, Mapping[str, Any], Sequence[Mapping[str, Any]]]] = []
    seen: dict[int, dict[str, Any]] = {}
    expire_s = state.ttl_s()
    for device, readings in batches:
        seen_value: dict[str, Any] = {"seen_at": received_at.timestamp()}
        if readings:
            ordered = sorted(readings, key=lambda r: r.measured_at)
            window = [r.live() for r in ordered]
            current = window[-1]
            updates.append((device.device_id, current, window))
            seen_value.update(current)
            expire_s = max(expire_s, live_ttl_s(device.interval_s))
        if mark_seen:
            seen[device.device_id] = seen_value
    lock = ("hardware:seen-flush", SEEN_FLUSH_EVERY_MS) if try_flush else None
    return state.telemetry_write(updates, expire_s=expire_s, seen=seen, lock=lock)


def readings_insert(rows: Sequence[tuple[int, ValidReading]], *, received_at: datetime) -> int:
    """Insert readings in bulk, skipping those already stored; returns how many were new."""
    inserted = _readings_insert(rows, received_at=received_at, returning=False)
    return inserted if isinstance(inserted, int) else len(inserted)


def readings_insert_returning(
    rows: Sequence[tuple[int, ValidReading]], *, received_at: datetime
) -> set[tuple[int, datetime]]:
    """Insert readings, skipping those already stored (same device and time, or same seq);
    returns the ``(device_id, measured_at)`` of the rows actually inserted."""
    inserted = _readings_insert(rows, received_at=received_at, returning=True)
    return inserted if isinstance(inserted, set) else set()


def _readings_insert(
    rows: Sequence[tuple[int, ValidReading]], *, received_at: datetime, returning: bool
) -> set[tuple[int, datetime]] | int:
    if not rows:
        return set() if returning else 0
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {Reading._meta.db_table} (device_id, measured_at, received_at, seq, "
            "voltage_v, current_a, power_w, energy_wh, frequency_hz, power_factor) "
            "SELECT d, m, %s, s, v, c, p, e, f, pf FROM unnest("
            "%s::bigint[], %s::timestamptz[], %s::bigint[], %s::float8[], %s::float8[], "
            "%s::float8[], %s::float8[], %s::float8[], %s::float8[]) "
            "AS t(d, m, s, v, c, p, e, f, pf) "
            "ON CONFLICT DO NOTHING"
        )
        # Array literals built here: psycopg's list adapter costs more than the insert itself.
        params: list[Any] = [
            received_at,
            _array(d for d, _ in rows),
            _array(f'"{r.measured_at.isoformat()}"' for _, r in rows),
            _array("NULL" if r.seq is None else r.seq for _, r in rows),
            _array(r.voltage_v for _, r in rows),
            _array(r.current_a for _, r in rows),
            _array(r.power_w for _, r in rows),
            _array(r.energy_wh for _, r in rows),
            _array(r.frequency_hz for _, r in rows),
            _array(r.power_factor for _, r in rows),
        ]
        with connection.cursor() as cursor:
            if returning:
                cursor.execute(sql + " RETURNING device_id, measured_at", params)
                return {(d, m.astimezone(UTC)) for d, m in cursor.fetchall()}
            cursor.execute(sql, params)
            return int(cursor.rowcount)
    return _readings_insert_portable(rows, received_at=received_at)


def _array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of numbers (``repr`` round-trips floats) or quoted text."""
    return "{" + ",".join(map(str, values)) + "}"


def _readings_insert_portable(
    rows: Sequence[tuple[int, ValidReading]], *, received_at: datetime
) -> set[tuple[int, datetime]]:
    """The same for other databases (SQLite in development): slower, not for load."""
    device_ids = {d for d, _ in rows}
    times = [r.measured_at for _, r in rows]
    seqs = [r.seq for _, r in rows if r.seq is not None]
    existing = set(
        Reading.objects.filter(device_id__in=device_ids)
        .filter(Q(measured_at__in=times) | Q(seq__in=seqs))
        .values_list("device_id", "measured_at", "seq")
    )
    taken_times = {(d, m) for d, m, _ in existing}
    taken_seqs = {(d, s) for d, _, s in existing if s is not None}
    fresh: list[Reading] = []
    inserted: set[tuple[int, datetime]] = set()
    for device_id, r in rows:
        if (device_id, r.measured_at) in taken_times or (device_id, r.seq) in taken_seqs:
            continue
        taken_times.add((device_id, r.measured_at))
        if r.seq is not None:
            taken_seqs.add((device_id, r.seq))
        inserted.add((device_id, r.measured_at))
        fresh.append(
            Reading(
                device_id=device_id,
                measured_at=r.measured_at,
                received_at=received_at,
                seq=r.seq,
                voltage_v=r.voltage_v,
                current_a=r.current_a,
                power_w=r.power_w,
                energy_wh=r.energy_wh,
                frequency_hz=r.frequency_hz,
                power_factor=r.power_factor,
            )
        )
    Reading.objects.bulk_create(fresh, ignore_conflicts=True)
    return inserted


def device_seen(*, device: DeviceAuth, at: datetime | None = None) -> None:
    """Record a sign of life without a reading (a command poll, an MQTT ``online``)."""
    if telemetry_live([(device, [])], received_at=at or now_utc(), try_flush=True):
        seen_flush()


def seen_flush(*, now: datetime | None = None) -> int:
    """Move the devices seen since the last flush into PostgreSQL in bulk: ``last_seen_at``,
    ``status`` online, the meter's latest-reading fields. Devices that come back online
    resolve their offline alert, announce it and get their pending commands. Threshold
    alerts are checked against the newest reading. Returns how many devices were flushed."""
    seen = state.seen_drain()
    if not seen:
        return 0
    now = now or now_utc()
    rows = list(
        Device.objects.filter(pk__in=seen.keys()).values_list(
            "id", "status", "home__owner_id", "kind"
        )
    )
    owners = {device_id: owner_id for device_id, _, owner_id, _ in rows}
    back_online = [d for d, status, _, _ in rows if status == DeviceStatus.OFFLINE]
    seen_rows = [
        (d, datetime.fromtimestamp(float(seen[d]["seen_at"]), tz=UTC))
        for d, status, _, _ in rows
        if status != DeviceStatus.DISABLED
    ]
    meter_rows = [
        (d, seen[d])
        for d, _, _, kind in rows
        if kind == DeviceKind.ENERGY_METER and "power_w" in seen[d]
    ]
    _devices_seen_update(seen_rows)
    _meters_latest_update(meter_rows)
    for device_id in back_online:
        _announce_status(device_id, DeviceStatus.ONLINE, now)
        alert_clear(
            device_id=device_id, owner_id=owners[device_id], kind=AlertKind.OFFLINE, now=now
        )
    if back_online:
        commands_dispatch(device_ids=back_online, now=now)
    alerts_evaluate(
        {device_id: (seen[device_id], None) for device_id in owners}, owners=owners, now=now
    )
    return len(rows)


METER_LATEST_FIELDS = (
    "voltage_v",
    "current_a",
    "power_w",
    "energy_wh",
    "frequency_hz",
    "power_factor",
)


def _devices_seen_update(rows: Sequence[tuple[int, datetime]]) -> None:
    """``last_seen_at`` (never backwards) and ``status`` online for many devices at once."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        for device_id, seen_at in rows:
            Device.objects.filter(pk=device_id).exclude(last_seen_at__gt=seen_at).update(
                last_seen_at=seen_at, status=DeviceStatus.ONLINE
            )
        return
    table = Device._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET last_seen_at = GREATEST(d.last_seen_at, t.seen_at), "
            "status = %s FROM unnest(%s::bigint[], %s::timestamptz[]) AS t(id, seen_at) "
            "WHERE d.id = t.id",
            [
                DeviceStatus.ONLINE.value,
                _array(d for d, _ in rows),
                _array(f'"{at.isoformat()}"' for _, at in rows),
            ],
        )


def _meters_latest_update(rows: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """The meters' latest-reading fields, for many meters in one statement."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        for device_id, value in rows:
            EnergyMeter.objects.filter(pk=device_id).update(
                **{name: value[name] for name in METER_LATEST_FIELDS}
            )
        return
    table = EnergyMeter._meta.db_table
    assignments = ", ".join(f"{name} = t.{name}" for name in METER_LATEST_FIELDS)
    columns = ", ".join(METER_LATEST_FIELDS)
    arrays = ", ".join(["%s::float8[]"] * len(METER_LATEST_FIELDS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS m SET {assignments} FROM unnest(%s::bigint[], {arrays}) "
            f"AS t(id, {columns}) WHERE m.device_ptr_id = t.id",
            [
                _array(d for d, _ in rows),
                *(_array(value[name] for _, value in rows) for name in METER_LATEST_FIELDS),
            ],
        )


def _announce_status(device_id: int, status: str, now: datetime) -> None:
    _safe_publish(
        state.device_channel(device_id),
        {"device_id": device_id, "status": status, "ts": now.timestamp(), "event": "status"},
    )


def _safe_publish(channel: str, message: Mapping[str, Any]) -> None:
    try:
        state.publish(channel, message)
    except Exception:  # pub/sub is at-most-once anyway; never fail a write for it
        logger.warning("publish on %s failed", channel, exc_info=True)


# ---------------------------------------------------------------------------------------------
# Heartbeat
# ---------------------------------------------------------------------------------------------


def heartbeat_check(*, now: datetime | None = None) -> list[int]:
    """Mark offline every online physical device silent for more than twice its interval."""
    now = now or now_utc()
    seen_flush(now=now)
    silent = []
    rows = Device.objects.filter(
        source=DeviceSource.PHYSICAL, status=DeviceStatus.ONLINE
    ).values_list("id", "last_seen_at", "created_at", "energymeter__reporting_interval_s")
    for device_id, last_seen_at, created_at, interval_s in rows:
        limit = timedelta(seconds=2 * (interval_s or DEFAULT_INTERVAL_S))
        if (last_seen_at or created_at) < now - limit:
            silent.append(device_id)
    devices_mark_offline(device_ids=silent, now=now, reason="silent")
    return silent


def devices_mark_offline(
    *, device_ids: Sequence[int], now: datetime | None = None, reason: str = "silent"
) -> list[int]:
    """Set devices offline, announce it on their channels and raise their offline alerts."""
    if not device_ids:
        return []
    now = now or now_utc()
    with transaction.atomic():
        rows = list(
            Device.objects.select_for_update()
            .filter(pk__in=device_ids, status=DeviceStatus.ONLINE)
            .values_list("id", "home__owner_id", "last_seen_at")
        )
        Device.objects.filter(pk__in=[r[0] for r in rows]).update(status=DeviceStatus.OFFLINE)
    rules = dict(
        AlertRule.objects.filter(device_id__in=[r[0] for r in rows]).values_list(
            "device_id", "offline"
        )
    )
    try:
        currents = state.read_many([state.device_current_key(r[0]) for r in rows])
        state.write_many(
            [
                (state.device_current_key(r[0]), {**(cur or {}), "status": DeviceStatus.OFFLINE})
                for r, cur in zip(rows, currents, strict=True)
                if cur
            ]
        )
    except Exception:
        logger.warning("could not mark live keys offline", exc_info=True)
    for device_id, owner_id, last_seen_at in rows:
        _announce_status(device_id, DeviceStatus.OFFLINE, now)
        if rules.get(device_id, True):
            since = f" since {last_seen_at:%Y-%m-%d %H:%M:%S} UTC" if last_seen_at else ""
            detail = "went offline" if reason == "will" else "stopped reporting"
            alert_raise(
                device_id=device_id,
                owner_id=owner_id,
                kind=AlertKind.OFFLINE,
                severity=AlertSeverity.WARNING,
                message=f"Device {device_id} {detail}{since}.",
                now=now,
            )
    return [r[0] for r in rows]


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def command_topic(device_id: int, leaf: str = "commands") -> str:
    return f"{settings.MQTT_TOPIC_PREFIX}/{device_id}/{leaf}"


def _command_message(command: DeviceCommand) -> dict[str, Any]:
    return {"id": str(command.id), "command": command.command, "args": command.args}


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=settings.COMMAND_RETRY_BASE_S * 2 ** max(attempts - 1, 0))


def _validate_meter_command(command: str, args: Mapping[str, Any]) -> None:
    if command not in METER_COMMANDS:
        choices = ", ".join(sorted(METER_COMMANDS))
        raise _invalid("command", f"Unknown command; one of {choices}.", "unknown")
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
        raise services.not_found("device_id", "Device") from None
    now = now_utc()
    if device.source == DeviceSource.SIMULATED:
        return _command_apply_simulated(user_id=user_id, device=device, command=command, args=args)
    _validate_meter_command(command, args)
    cmd = DeviceCommand.objects.create(
        device=device,
        command=command,
        args=args,
        expires_at=now + timedelta(seconds=settings.COMMAND_TTL_S),
        next_attempt_at=now,
    )
    if device.status == DeviceStatus.ONLINE:
        command_publish(command=cmd, now=now)
    return cmd


def _command_apply_simulated(
    *, user_id: int, device: Device, command: str, args: Mapping[str, Any]
) -> DeviceCommand:
    if command not in SIMULATED_COMMANDS:
        choices = ", ".join(sorted(SIMULATED_COMMANDS))
        raise _invalid("command", f"Unknown command; one of {choices}.", "unknown")

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
    _simulate_now(device.pk, now)
    return cmd


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid("args", "Must be a number.", "invalid")
    return float(value)


def _simulate_now(device_id: int, now: datetime) -> None:
    """Step the device once through the farm's hook so its live state shows the change."""
    try:
        farm = importlib.import_module("devices.farm")
    except ImportError:
        return
    hook = getattr(farm, "device_simulate", None)
    if hook is None:
        return
    try:
        hook(device_id=device_id, at=now)
    except Exception:  # the command is applied; the next tick shows it anyway
        logger.exception("device_simulate(%s) failed", device_id)


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
    """Publish a command and count the attempt; on broker trouble leave it for the retry."""
    now = now or now_utc()
    try:
        mqtt_publish(command_topic(command.device_id), orjson.dumps(_command_message(command)))
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


def commands_dispatch(*, device_ids: Sequence[int], now: datetime | None = None) -> int:
    """Publish the pending commands of devices that just came online."""
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
    whose device is online. A command sent ``COMMAND_MAX_ATTEMPTS`` times expires."""
    now = now or now_utc()
    expired = DeviceCommand.objects.filter(
        status__in=OPEN_COMMAND_STATUSES, expires_at__lte=now
    ).update(status=CommandStatus.EXPIRED)
    expired += DeviceCommand.objects.filter(
        status=CommandStatus.SENT,
        attempts__gte=settings.COMMAND_MAX_ATTEMPTS,
        next_attempt_at__lte=now,
    ).update(status=CommandStatus.EXPIRED)
    due = DeviceCommand.objects.filter(
        status__in=OPEN_COMMAND_STATUSES,
        next_attempt_at__lte=now,
        device__status=DeviceStatus.ONLINE,
    ).order_by("next_attempt_at")[:1000]
    resent = sum(command_publish(command=cmd, now=now) for cmd in due)
    return {"expired": expired, "resent": resent}


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
    device_seen(device=device, at=now)
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
    return cmd


def command_list(*, user_id: int, device_id: int | str) -> QuerySet[DeviceCommand]:
    """Commands of one of the user's devices, newest first."""
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise services.not_found("device_id", "Device") from None
    return DeviceCommand.objects.filter(device_id=device.pk).order_by("-created_at")


# ---------------------------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------------------------


def alert_event(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "device_id": alert.device_id,
        "kind": alert.kind,
        "message": alert.message,
        "severity": alert.severity,
        "raised_at": alert.raised_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "resolved": alert.resolved_at is not None,
    }


def alert_raise(
    *,
    device_id: int,
    owner_id: int,
    kind: str,
    message: str,
    severity: str = AlertSeverity.WARNING,
    value: float | None = None,
    now: datetime | None = None,
) -> Alert | None:
    """Open an alert unless one of this kind is already open for the device."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                device_id=device_id,
                kind=kind,
                severity=severity,
                message=message[:240],
                value=value,
                raised_at=now or now_utc(),
            )
    except IntegrityError:
        return None
    _safe_publish(state.alerts_channel(owner_id), alert_event(alert))
    return alert


def alert_clear(*, device_id: int, owner_id: int, kind: str, now: datetime | None = None) -> int:
    """Resolve the open alert of this kind (its condition cleared)."""
    now = now or now_utc()
    open_alerts = list(Alert.objects.filter(device_id=device_id, kind=kind, resolved_at=None))
    for alert in open_alerts:
        alert.resolved_at = now
        alert.save(update_fields=["resolved_at"])
        _safe_publish(state.alerts_channel(owner_id), alert_event(alert))
    return len(open_alerts)


def alert_resolve(*, user_id: int, alert_id: int | str) -> Alert:
    """The owner closes an alert by hand (raised again if its condition still holds later)."""
    try:
        alert = Alert.objects.get(pk=int(alert_id), device__home__owner_id=user_id)
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise services.not_found("id", "Alert") from None
    if alert.resolved_at is None:
        alert.resolved_at = now_utc()
        alert.save(update_fields=["resolved_at"])
        _safe_publish(state.alerts_channel(user_id), alert_event(alert))
    return alert


def alert_list(*, user_id: int, resolved: bool | None = None) -> QuerySet[Alert]:
    alerts = Alert.objects.filter(device__home__owner_id=user_id)
    if resolved is not None:
        alerts = alerts.filter(resolved_at__isnull=not resolved)
    return alerts.order_by("-raised_at", "-id")


ALERT_RULE_FIELDS = ("power_max_w", "voltage_min_v", "voltage_max_v", "battery_min_soc", "offline")


@transaction.atomic
def alert_rule_set(*, user_id: int, device_id: int | str, **fields: Any) -> AlertRule:
    """Create or change the thresholds of one of the user's devices."""
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise services.not_found("device_id", "Device") from None
    rule, _ = AlertRule.objects.select_for_update().get_or_create(device_id=device.pk)
    for name, value in fields.items():
        if name not in ALERT_RULE_FIELDS:
            raise _invalid(name, "This field cannot be set.", "not_settable")
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    return rule


def alert_rule_get(*, user_id: int, device_id: int | str) -> AlertRule | None:
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise services.not_found("device_id", "Device") from None
    return AlertRule.objects.filter(device_id=device.pk).first()


def _conditions(
    rule: AlertRule, current: Mapping[str, Any] | None, storage: Mapping[str, Any] | None
) -> dict[str, tuple[bool, float | None, str]]:
    """kind -> (holds, value, message) for every condition the values can decide."""
    decided: dict[str, tuple[bool, float | None, str]] = {}
    power = (current or {}).get("power_w")
    if rule.power_max_w is not None and power is not None:
        decided[AlertKind.POWER_HIGH] = (
            float(power) > rule.power_max_w,
            float(power),
            f"Power {float(power):.0f} W is above the limit of {rule.power_max_w:.0f} W.",
        )
    voltage = (current or {}).get("voltage_v")
    if voltage is not None and (rule.voltage_min_v is not None or rule.voltage_max_v is not None):
        low = rule.voltage_min_v if rule.voltage_min_v is not None else float("-inf")
        high = rule.voltage_max_v if rule.voltage_max_v is not None else float("inf")
        decided[AlertKind.VOLTAGE_OUT_OF_RANGE] = (
            not low <= float(voltage) <= high,
            float(voltage),
            f"Voltage {float(voltage):.1f} V is outside {low:g}..{high:g} V.",
        )
    if rule.battery_min_soc is not None and storage:
        level, capacity = storage.get("level_wh"), storage.get("capacity_wh")
        if level is not None and capacity:
            soc = float(level) / float(capacity)
            decided[AlertKind.BATTERY_LOW] = (
                soc < rule.battery_min_soc,
                soc,
                f"Battery at {soc:.0%}, below {rule.battery_min_soc:.0%}.",
            )
    return decided


_SEVERITY: dict[str, str] = {
    AlertKind.POWER_HIGH: AlertSeverity.WARNING,
    AlertKind.VOLTAGE_OUT_OF_RANGE: AlertSeverity.CRITICAL,
    AlertKind.BATTERY_LOW: AlertSeverity.WARNING,
}


def alerts_evaluate(
    values: Mapping[int, tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]],
    *,
    owners: Mapping[int, int] | None = None,
    now: datetime | None = None,
) -> None:
    """Raise or clear threshold alerts from live values (device id -> (current, storage)).
    A value that is missing decides nothing."""
    if not values:
        return
    rules = {
        rule.device_id: rule
        for rule in AlertRule.objects.filter(device_id__in=values.keys()).select_related(
            "device__home"
        )
    }
    if not rules:
        return
    now = now or now_utc()
    open_kinds: dict[int, set[str]] = defaultdict(set)
    for device_id, kind in Alert.objects.filter(
        device_id__in=rules.keys(), resolved_at=None
    ).values_list("device_id", "kind"):
        open_kinds[device_id].add(kind)
    for device_id, rule in rules.items():
        owner_id = (owners or {}).get(device_id) or rule.device.home.owner_id
        current, storage = values[device_id]
        for kind, (holds, value, message) in _conditions(rule, current, storage).items():
            if holds and kind not in open_kinds[device_id]:
                alert_raise(
                    device_id=device_id,
                    owner_id=owner_id,
                    kind=kind,
                    message=message,
                    severity=_SEVERITY[kind],
                    value=value,
                    now=now,
                )
            elif not holds and kind in open_kinds[device_id]:
                alert_clear(device_id=device_id, owner_id=owner_id, kind=kind, now=now)


def alerts_check(*, now: datetime | None = None) -> None:
    """Check every rule with a threshold against the devices' live keys (periodic)."""
    device_ids = list(
        AlertRule.objects.filter(
            Q(power_max_w__isnull=False)
            | Q(voltage_min_v__isnull=False)
            | Q(voltage_max_v__isnull=False)
            | Q(battery_min_soc__isnull=False)
        ).values_list("device_id", flat=True)
    )
    if not device_ids:
        return
    currents = state.read_many([state.device_current_key(d) for d in device_ids])
    storages = state.read_many([state.device_storage_key(d) for d in device_ids])
    alerts_evaluate(
        {
            d: (None if state.is_stale(c) else c, s)
            for d, c, s in zip(device_ids, currents, storages, strict=True)
        },
        now=now,
    )


# ---------------------------------------------------------------------------------------------
# History: reads, hourly rollups, retention
# ---------------------------------------------------------------------------------------------


def reading_list(
    *,
    user_id: int,
    device_id: int | str,
    since: datetime,
    until: datetime,
    first: int = 1000,
) -> list[Reading]:
    """The user's device's readings in ``[since, until)``, oldest first, at most ``first``."""
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise services.not_found("device_id", "Device") from None
    if not 0 < first <= READINGS_PAGE_MAX:
        raise ValidationError({"first": f"Must be between 1 and {READINGS_PAGE_MAX}."})
    return list(
        Reading.objects.filter(
            device_id=device.pk, measured_at__gte=since, measured_at__lt=until
        ).order_by("measured_at")[:first]
    )


def meter_energy_hourly(
    *, user_id: int, device_id: int | str, since: datetime, until: datetime
) -> list[ReadingHourly]:
    """Hourly rollups of the user's device in ``[since, until)`` (up to the last rollup run)."""
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise services.not_found("device_id", "Device") from None
    return list(
        ReadingHourly.objects.filter(device_id=device.pk, hour__gte=since, hour__lt=until).order_by(
            "hour"
        )[: 24 * 366]
    )


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def readings_rollup(*, since: datetime, until: datetime) -> int:
    """(Re)compute hourly rollups for the hours in ``[since, until)``; idempotent.

    Energy is the sum of the meter's counter increments (a counter reset counts as 0).
    """
    since, until = _hour_floor(since), until.astimezone(UTC)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH r AS (
                  SELECT device_id, measured_at, power_w,
                         energy_wh - lag(energy_wh) OVER w AS delta_wh
                  FROM {Reading._meta.db_table}
                  WHERE measured_at >= %(lookback)s AND measured_at < %(until)s
                  WINDOW w AS (PARTITION BY device_id ORDER BY measured_at)
                )
                INSERT INTO {ReadingHourly._meta.db_table}
                  (device_id, hour, energy_wh, avg_power_w, min_power_w, max_power_w, count)
                SELECT device_id, date_trunc('hour', measured_at AT TIME ZONE 'UTC')
                         AT TIME ZONE 'UTC',
                       COALESCE(SUM(GREATEST(delta_wh, 0)), 0), AVG(power_w), MIN(power_w),
                       MAX(power_w), COUNT(*)
                FROM r WHERE measured_at >= %(since)s
                GROUP BY 1, 2
                ON CONFLICT (device_id, hour) DO UPDATE SET
                  energy_wh = EXCLUDED.energy_wh, avg_power_w = EXCLUDED.avg_power_w,
                  min_power_w = EXCLUDED.min_power_w, max_power_w = EXCLUDED.max_power_w,
                  count = EXCLUDED.count
                """,
                {"lookback": since - timedelta(hours=1), "since": since, "until": until},
            )
            return cursor.rowcount
    return _readings_rollup_portable(since=since, until=until)


def _readings_rollup_portable(*, since: datetime, until: datetime) -> int:
    rows = (
        Reading.objects.filter(measured_at__gte=since - timedelta(hours=1), measured_at__lt=until)
        .values_list("device_id", "measured_at", "power_w", "energy_wh")
        .order_by("device_id", "measured_at")
    )
    hours: dict[tuple[int, datetime], list[float]] = {}
    energy: dict[tuple[int, datetime], float] = defaultdict(float)
    previous: dict[int, float] = {}
    for device_id, measured_at, power_w, energy_wh in rows:
        delta = energy_wh - previous[device_id] if device_id in previous else 0.0
        previous[device_id] = energy_wh
        if measured_at < since:
            continue
        key = (device_id, _hour_floor(measured_at))
        hours.setdefault(key, []).append(power_w)
        energy[key] += max(delta, 0.0)
    for (device_id, hour), powers in hours.items():
        ReadingHourly.objects.update_or_create(
            device_id=device_id,
            hour=hour,
            defaults={
                "energy_wh": energy[(device_id, hour)],
                "avg_power_w": sum(powers) / len(powers),
                "min_power_w": min(powers),
                "max_power_w": max(powers),
                "count": len(powers),
            },
        )
    return len(hours)


def readings_prune(*, now: datetime | None = None, chunk: int = 50_000) -> int:
    """Delete raw readings older than ``READINGS_RETENTION_DAYS`` (rollups stay)."""
    cutoff = (now or now_utc()) - timedelta(days=settings.READINGS_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            Reading.objects.filter(measured_at__lt=cutoff).values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return deleted
        deleted += Reading.objects.filter(pk__in=ids).delete()[0]
