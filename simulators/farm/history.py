"""Energy history of a home per bucket (minute, hour, day), read for its owner."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import Sum
from django.db.models.functions import TruncDay, TruncHour, TruncMinute

from devices import selectors
from devices.models import Home, HomeEnergyHistory

HISTORY_BUCKET_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
MAX_HISTORY_BUCKETS = 10_000
_HISTORY_FIELDS = (
    "production_wh",
    "consumption_wh",
    "import_wh",
    "export_wh",
    "charge_wh",
    "discharge_wh",
)


class HistoryRangeError(ValueError):
    """The asked range is empty, reversed, or spans too many buckets."""


def history_buckets(
    *, user_id: int, home_id: int | str, start: datetime, end: datetime, bucket: str
) -> list[dict[str, Any]] | None:
    """Energy of one of the user's homes per bucket in [start, end) [kWh]; None: no such home.

    Only buckets holding history appear, oldest first.
    """
    if end <= start:
        raise HistoryRangeError("'to' must be after 'from'.")
    count = (end - start).total_seconds() / HISTORY_BUCKET_SECONDS[bucket]
    if count > MAX_HISTORY_BUCKETS:
        raise HistoryRangeError(
            f"The range spans {int(count)} {bucket} buckets; at most {MAX_HISTORY_BUCKETS} "
            "are allowed: narrow it or choose a larger bucket."
        )
    try:
        home = selectors.home_get(user_id=user_id, home_id=home_id)
    except Home.DoesNotExist:
        return None
    trunc = {"minute": TruncMinute, "hour": TruncHour, "day": TruncDay}[bucket]
    rows = (
        HomeEnergyHistory.objects.filter(home=home, tick_at__gte=start, tick_at__lt=end)
        .annotate(start=trunc("tick_at", tzinfo=UTC))
        .values("start")
        .annotate(**{name: Sum(name) for name in _HISTORY_FIELDS})
        .order_by("start")
    )
    return [
        {
            "start": row["start"],
            **{name.replace("_wh", "_kwh"): row[name] / 1000.0 for name in _HISTORY_FIELDS},
        }
        for row in rows
    ]
