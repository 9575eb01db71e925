"""Energy history of a home per bucket (minute, hour, day) and its ledger (totals over a
range, the stores' current books), read for its owner."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import Sum
from django.db.models.functions import TruncDay, TruncHour, TruncMinute

from devices import selectors
from devices.live import store
from devices.models import Device, DeviceKind, DeviceSource, Home, HomeEnergyHistory

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
#: The ledger's sums per bucket: import cost and export revenue [currency], carbon [g].
_LEDGER_FIELDS = ("cost", "revenue", "carbon_g", "carbon_avoided_g")


class HistoryRangeError(ValueError):
    """The asked range is empty, reversed, or spans too many buckets."""


def history_buckets(
    *, user_id: int, home_id: int | str, start: datetime, end: datetime, bucket: str
) -> list[dict[str, Any]] | None:
    """Energy of one of the user's homes per bucket in [start, end) [kWh], with its cost,
    revenue and carbon (``_LEDGER_FIELDS``); None: no such home.

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
        .annotate(**{name: Sum(name) for name in (*_HISTORY_FIELDS, *_LEDGER_FIELDS)})
        .order_by("start")
    )
    return [
        {
            "start": row["start"],
            **{name.replace("_wh", "_kwh"): row[name] / 1000.0 for name in _HISTORY_FIELDS},
            **{name: row[name] for name in _LEDGER_FIELDS},
        }
        for row in rows
    ]


def ledger_totals(
    *, user_id: int, home_id: int | str, start: datetime, end: datetime
) -> dict[str, float] | None:
    """One of the user's homes' grid exchange over [start, end): ``import_kwh``,
    ``export_kwh``, ``import_cost``, ``export_revenue`` [currency], ``carbon_g`` and
    ``carbon_avoided_g`` [g]; None: no such home."""
    if end <= start:
        raise HistoryRangeError("'to' must be after 'from'.")
    try:
        home = selectors.home_get(user_id=user_id, home_id=home_id)
    except Home.DoesNotExist:
        return None
    sums = HomeEnergyHistory.objects.filter(home=home, tick_at__gte=start, tick_at__lt=end)
    row = sums.aggregate(
        import_wh=Sum("import_wh"),
        export_wh=Sum("export_wh"),
        import_cost=Sum("cost"),
        export_revenue=Sum("revenue"),
        carbon_g=Sum("carbon_g"),
        carbon_avoided_g=Sum("carbon_avoided_g"),
    )
    totals = {name: float(value or 0.0) for name, value in row.items()}
    totals["import_kwh"] = totals.pop("import_wh") / 1000.0
    totals["export_kwh"] = totals.pop("export_wh") / 1000.0
    return totals


def storage_ledger(*, user_id: int, home_id: int | str) -> list[dict[str, Any]] | None:
    """The current content of each simulated battery and vehicle of one of the user's homes:
    ``device_id``, ``name``, ``level_wh``, the book (average cost and carbon per kWh, shares by
    origin), ``ts`` and ``until`` (no live value yet: only the id and name); None: no such
    home."""
    try:
        home = selectors.home_get(user_id=user_id, home_id=home_id)
    except Home.DoesNotExist:
        return None
    devices = list(
        Device.objects.filter(
            home=home,
            source=DeviceSource.SIMULATED,
            kind__in=[DeviceKind.BATTERY, DeviceKind.ELECTRIC_VEHICLE],
        )
        .order_by("id")
        .values_list("id", "name")
    )
    values = store.device_storages([device_id for device_id, _ in devices])
    return [
        {"device_id": device_id, "name": name, **(value or {})}
        for (device_id, name), value in zip(devices, values, strict=True)
    ]
