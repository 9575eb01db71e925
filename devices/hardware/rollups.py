"""Readings rolled up per hour (kept) and raw readings pruned after their retention."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection

from devices.hardware.common import (
    now_utc,
)
from devices.models import (
    Reading,
    ReadingHourly,
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
