"""Readings rolled up per hour (kept) and raw readings pruned after their retention."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection

from devices.hardware.common import (
    now_utc,
)
from devices.ingest.validation import FIELDS
from devices.models import (
    Reading,
    ReadingHourly,
)

logger = logging.getLogger(__name__)

# What a rollup adds up must be a reading telemetry accepts today: a row stored before the
# bounds existed (1e308, NaN) would overflow the aggregate and fail the hour for every meter.
_, POWER_LOW, POWER_HIGH, _ = FIELDS["power"]
_, ENERGY_LOW, ENERGY_HIGH, _ = FIELDS["energy"]
_IN_BOUNDS_SQL = (
    "power_w BETWEEN %(power_low)s AND %(power_high)s "
    "AND energy_wh BETWEEN %(energy_low)s AND %(energy_high)s"  # false for NaN in PostgreSQL
)
_BOUNDS = {
    "power_low": POWER_LOW,
    "power_high": POWER_HIGH,
    "energy_low": ENERGY_LOW,
    "energy_high": ENERGY_HIGH,
}


@dataclass(frozen=True, slots=True)
class RollupResult:
    hours: int  # device-hours written
    skipped: int  # readings in the range left out: outside what telemetry accepts


def _in_bounds(power_w: float, energy_wh: float) -> bool:
    return POWER_LOW <= power_w <= POWER_HIGH and ENERGY_LOW <= energy_wh <= ENERGY_HIGH


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def readings_rollup(*, since: datetime, until: datetime) -> RollupResult:
    """(Re)compute hourly rollups for the hours in ``[since, until)``; idempotent.

    Energy is the sum of the meter's counter increments (a counter reset counts as 0). A
    reading outside telemetry's bounds is left out (counted and logged); the rest of its hour,
    and every other meter, is rolled up.
    """
    since, until = _hour_floor(since), until.astimezone(UTC)
    skipped = _out_of_bounds_log(since=since, until=until)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH r AS (
                  SELECT device_id, measured_at, power_w,
                         energy_wh - lag(energy_wh) OVER w AS delta_wh
                  FROM {Reading._meta.db_table}
                  WHERE measured_at >= %(lookback)s AND measured_at < %(until)s
                    AND {_IN_BOUNDS_SQL}
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
                {
                    "lookback": since - timedelta(hours=1),
                    "since": since,
                    "until": until,
                    **_BOUNDS,
                },
            )
            return RollupResult(hours=cursor.rowcount, skipped=skipped)
    return RollupResult(hours=_readings_rollup_portable(since=since, until=until), skipped=skipped)


def _out_of_bounds_log(*, since: datetime, until: datetime) -> int:
    """Count and log the readings of ``[since, until)`` a rollup leaves out, per device."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT device_id, count(*) FROM {Reading._meta.db_table}
                WHERE measured_at >= %(since)s AND measured_at < %(until)s
                  AND NOT ({_IN_BOUNDS_SQL})
                GROUP BY device_id ORDER BY device_id
                """,
                {"since": since, "until": until, **_BOUNDS},
            )
            per_device = dict(cursor.fetchall())
    else:
        per_device = defaultdict(int)
        for device_id, power_w, energy_wh in Reading.objects.filter(
            measured_at__gte=since, measured_at__lt=until
        ).values_list("device_id", "power_w", "energy_wh"):
            if not _in_bounds(power_w, energy_wh):
                per_device[device_id] += 1
    skipped = sum(per_device.values())
    if skipped:
        logger.warning(
            "hourly rollup %s..%s: left out %d readings outside telemetry's bounds "
            "(device id: count) %s",
            since.isoformat(),
            until.isoformat(),
            skipped,
            dict(per_device),
        )
    return skipped


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
        if not _in_bounds(power_w, energy_wh):
            continue
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
