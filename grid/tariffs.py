"""
Tariffs as plain values: what a tariff charges at an instant, with no database.

A ``TariffSpec`` holds everything the price of a tariff depends on, the home's time zone
included, so equal tariffs of many homes are one spec and resolved once per instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from simulators.physics.constants import ALL_DAYS_MASK

MINUTES_PER_DAY = 24 * 60
FIXED = "fixed"
TIME_OF_USE = "time_of_use"
DYNAMIC = "dynamic"


@dataclass(frozen=True, slots=True)
class Period:
    """An import price over ``[start_min, end_min)`` minutes of local time on the days of ``days``
    (bit 0 Monday … bit 6 Sunday)."""

    days: int
    start_min: int
    end_min: int
    import_price: float


@dataclass(frozen=True, slots=True)
class TariffSpec:
    """What a tariff's prices depend on. ``None`` prices come from the region's price signals."""

    kind: str
    import_price: float | None = None
    export_price: float | None = None
    periods: tuple[Period, ...] = ()
    timezone: str = "UTC"


DEFAULT = TariffSpec(kind=DYNAMIC)
"""A home without a tariff: both prices from its region's price signals."""


def minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def period_end_min(end: time) -> int:
    """A period's end in minutes of the day; 00:00 is midnight at the end of the day."""
    return minutes(end) or MINUTES_PER_DAY


def coverage_problems(periods: list[Period]) -> list[str]:
    """Why ``periods`` do not cover every minute of every day exactly once (empty when they do)."""
    problems: list[str] = []
    day_names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    for period in periods:
        if period.start_min >= period.end_min:
            problems.append(
                f"A period must end after it starts (use 00:00 for midnight): "
                f"{_clock(period.start_min)}-{_clock(period.end_min)}."
            )
        if not 1 <= period.days <= ALL_DAYS_MASK:
            problems.append("A period needs at least one day.")
    if problems:
        return problems
    for day, day_name in enumerate(day_names):
        spans = sorted((p.start_min, p.end_min) for p in periods if p.days & (1 << day))
        reached = 0
        for start, end in spans:
            if start < reached:
                problems.append(
                    f"Periods overlap on {day_name} from {_clock(start)} to "
                    f"{_clock(min(reached, end))}."
                )
            elif start > reached:
                problems.append(
                    f"No period covers {day_name} from {_clock(reached)} to {_clock(start)}."
                )
            reached = max(reached, end)
        if reached < MINUTES_PER_DAY:
            problems.append(
                f"No period covers {day_name} from {_clock(reached)} to {_clock(MINUTES_PER_DAY)}."
            )
    return problems


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def import_price_at(spec: TariffSpec, at: datetime) -> float | None:
    """The tariff's import price at ``at``; ``None`` when it is the region's price signal."""
    if spec.kind == FIXED:
        return spec.import_price
    if spec.kind != TIME_OF_USE:
        return None
    local = at.astimezone(_zone(spec.timezone))
    minute, day_bit = local.hour * 60 + local.minute, 1 << local.weekday()
    for period in spec.periods:
        if period.days & day_bit and period.start_min <= minute < period.end_min:
            return period.import_price
    return None  # validation keeps this from happening; the signal then answers
