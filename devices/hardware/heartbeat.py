"""Heartbeats: devices seen, online and offline, and the meters' latest values."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction

from devices.hardware.alerts import alert_clear, alert_raise, alerts_evaluate
from devices.hardware.commands import commands_dispatch
from devices.hardware.common import (
    DEFAULT_INTERVAL_S,
    now_utc,
    pg_array,
    safe_publish,
)
from devices.hardware.keys import DeviceAuth
from devices.hardware.telemetry import telemetry_live
from devices.live import channels, store
from devices.models import (
    AlertKind,
    AlertRule,
    AlertSeverity,
    Device,
    DeviceKind,
    DeviceSource,
    DeviceStatus,
    EnergyMeter,
)

logger = logging.getLogger(__name__)


def device_seen(*, device: DeviceAuth, at: datetime | None = None) -> None:
    """Record a sign of life without a reading (a command poll, an MQTT ``online``)."""
    if telemetry_live([(device, [])], received_at=at or now_utc(), try_flush=True):
        seen_flush()


def seen_flush(*, now: datetime | None = None) -> int:
    """Move the devices seen since the last flush into PostgreSQL in bulk: ``last_seen_at``,
    ``status`` online, the meter's latest-reading fields. Devices that come back online
    resolve their offline alert, announce it and get their pending commands. Threshold
    alerts are checked against the newest reading. Returns how many devices were flushed."""
    seen = store.seen_drain()
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
                pg_array(d for d, _ in rows),
                pg_array(f'"{at.isoformat()}"' for _, at in rows),
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
                pg_array(d for d, _ in rows),
                *(pg_array(value[name] for _, value in rows) for name in METER_LATEST_FIELDS),
            ],
        )


def _announce_status(device_id: int, status: str, now: datetime) -> None:
    safe_publish(
        channels.device_channel(device_id),
        {"device_id": device_id, "status": status, "ts": now.timestamp(), "event": "status"},
    )


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
        currents = store.device_currents([r[0] for r in rows])
        store.device_currents_write(
            [
                (r[0], {**(cur or {}), "status": DeviceStatus.OFFLINE})
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
