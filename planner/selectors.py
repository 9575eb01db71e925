"""Reads of goals, forecasts, plans, decisions and savings, always of the user's own homes: a
home that is not the user's is ``Home.DoesNotExist``, as one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Avg, Count, F, Max, Min, QuerySet, Sum, Value, Window
from django.db.models.functions import Abs, Coalesce, Lag, TruncHour

from devices import selectors as device_selectors
from devices.models import Home, HomeEnergyHistory
from grid import selectors as grid_selectors
from planner.inputs import HomeInputs, home_inputs, interval_start
from planner.models import Decision, HomePlan, OptimizationGoal
from planner.problem import INTERVAL_S

MAX_FORECAST_HOURS = 48
MAX_RANGE = timedelta(days=31)
"""The longest range ``decisions`` and ``savings`` read (744 hourly buckets)."""
MAX_DECISIONS = 1000
"""The most decisions one read answers (ten days of one device's quarter hours)."""


def home_get(*, user_id: int, home_id: int | str) -> Home:
    """The user's home ``home_id`` (``Home.DoesNotExist`` for a malformed id too)."""
    try:
        return device_selectors.home_get(user_id=user_id, home_id=home_id)
    except (ValueError, TypeError):
        raise Home.DoesNotExist from None


def goal_get(*, home: Home) -> OptimizationGoal | None:
    """The home's goal, None when it has none (plans then minimise cost)."""
    return OptimizationGoal.objects.filter(home=home).first()


def plan_stored(*, home: Home) -> HomePlan | None:
    """The home's latest stored plan."""
    return HomePlan.objects.filter(home=home).first()


def home_forecast(*, user_id: int, home_id: int | str, now: datetime, hours: int) -> HomeInputs:
    """The inputs of the user's home over ``hours`` hours from the interval holding ``now``."""
    if not 1 <= hours <= MAX_FORECAST_HOURS:
        msg = f"hours must be 1 to {MAX_FORECAST_HOURS}"
        raise ValueError(msg)
    home = home_get(user_id=user_id, home_id=home_id)
    return home_inputs(
        home=home,
        goal=goal_get(home=home),
        starts_at=interval_start(now),
        intervals=int(hours * 3600 // INTERVAL_S),
    )


class RangeError(ValueError):
    """A range that is empty, reversed or longer than ``MAX_RANGE``; ``field`` names the
    argument to change."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def _check_range(start: datetime, end: datetime) -> None:
    if end <= start:
        raise RangeError("'to' must be after 'from'.", field="to")
    if end - start > MAX_RANGE:
        msg = f"The range spans more than {MAX_RANGE.days} days: narrow it."
        raise RangeError(msg, field="from")


def decisions_list(
    *,
    user_id: int,
    home_id: int | str,
    start: datetime,
    end: datetime,
    limit: int = MAX_DECISIONS,
) -> list[Decision]:
    """The decisions of the user's home for intervals starting in [start, end): the latest
    ``limit`` (at most ``MAX_DECISIONS``), ordered by interval start and device."""
    _check_range(start, end)
    if not 1 <= limit <= MAX_DECISIONS:
        msg = f"limit must be 1 to {MAX_DECISIONS}"
        raise ValueError(msg)
    home = home_get(user_id=user_id, home_id=home_id)
    latest = (
        Decision.objects.filter(home=home, interval_start__gte=start, interval_start__lt=end)
        .select_related("device")
        .order_by("-interval_start", "-device_id")[:limit]
    )
    return list(reversed(latest))


@dataclass(frozen=True, slots=True)
class SavingsBucket:
    """One hour's savings and the running total from the range's start."""

    start: datetime
    hours: float
    cost_saved: float
    carbon_saved_g: float
    cumulative_cost_saved: float
    cumulative_carbon_saved_g: float


@dataclass(frozen=True, slots=True)
class Savings:
    """Realised cost and carbon of a home against its greedy twin over the ticks it had a
    goal, and how far its plans' forecasts were from what happened."""

    home_id: int
    start: datetime
    end: datetime
    currency: str
    ticks: int
    hours: float
    first_tick_at: datetime | None
    last_tick_at: datetime | None
    cost: float
    baseline_cost: float
    cost_saved: float
    carbon_g: float
    baseline_carbon_g: float
    carbon_saved_g: float
    solar_mae_w: float | None
    base_load_mae_w: float | None
    buckets: list[SavingsBucket]


def _tick_s(rows: QuerySet[HomeEnergyHistory], count: int) -> float:
    """The rows' tick: the smallest spacing between consecutive rows (a gap, e.g. hours
    without a goal, leaves it alone); the configured tick for fewer than two rows."""
    if count < 2:
        return float(settings.TICK_SECONDS)
    spaced = rows.annotate(
        gap=F("tick_at") - Window(Lag("tick_at"), order_by=F("tick_at").asc())
    ).aggregate(smallest=Min("gap"))["smallest"]
    return spaced.total_seconds() if spaced else float(settings.TICK_SECONDS)


def savings_get(*, user_id: int, home_id: int | str, start: datetime, end: datetime) -> Savings:
    """Savings of the user's home over the ticks ending in [start, end) that had a goal (a
    baseline): net cost (cost less revenue) and carbon, realised and the greedy twin's, per
    hour with running totals, and the mean absolute solar and base-load forecast errors."""
    _check_range(start, end)
    home = home_get(user_id=user_id, home_id=home_id)
    rows = HomeEnergyHistory.objects.filter(
        home=home,
        tick_at__gte=start,
        tick_at__lt=end,
        baseline_cost__isnull=False,
        baseline_carbon_g__isnull=False,
    )
    net = F("cost") - F("revenue")
    baseline_net = F("baseline_cost") - Coalesce(F("baseline_revenue"), Value(0.0))
    totals = rows.aggregate(
        ticks=Count("pk"),
        first=Min("tick_at"),
        last=Max("tick_at"),
        cost=Coalesce(Sum(net), Value(0.0)),
        baseline_cost=Coalesce(Sum(baseline_net), Value(0.0)),
        carbon_g=Coalesce(Sum("carbon_g"), Value(0.0)),
        baseline_carbon_g=Coalesce(Sum("baseline_carbon_g"), Value(0.0)),
        solar_mae_w=Avg(Abs(F("solar_forecast_w") - F("solar_w"))),
        base_load_mae_w=Avg(Abs(F("base_load_forecast_w") - F("base_load_w"))),
    )
    tick_s = _tick_s(rows, totals["ticks"])
    hourly = (
        rows.annotate(hour=TruncHour("tick_at", tzinfo=UTC))
        .values("hour")
        .annotate(
            ticks=Count("pk"),
            cost_saved=Sum(baseline_net - net),
            carbon_saved_g=Sum(F("baseline_carbon_g") - F("carbon_g")),
        )
        .order_by("hour")
    )
    buckets: list[SavingsBucket] = []
    cost_total = carbon_total = 0.0
    for hour in hourly:  # at most one per hour of the range
        cost_total += hour["cost_saved"]
        carbon_total += hour["carbon_saved_g"]
        buckets.append(
            SavingsBucket(
                start=hour["hour"],
                hours=hour["ticks"] * tick_s / 3600.0,
                cost_saved=hour["cost_saved"],
                carbon_saved_g=hour["carbon_saved_g"],
                cumulative_cost_saved=cost_total,
                cumulative_carbon_saved_g=carbon_total,
            )
        )
    currency = grid_selectors.tariff_view(user_id=user_id, home_id=home.pk).currency
    return Savings(
        home_id=home.pk,
        start=start,
        end=end,
        currency=currency,
        ticks=totals["ticks"],
        hours=totals["ticks"] * tick_s / 3600.0,
        first_tick_at=totals["first"],
        last_tick_at=totals["last"],
        cost=totals["cost"],
        baseline_cost=totals["baseline_cost"],
        cost_saved=totals["baseline_cost"] - totals["cost"],
        carbon_g=totals["carbon_g"],
        baseline_carbon_g=totals["baseline_carbon_g"],
        carbon_saved_g=totals["baseline_carbon_g"] - totals["carbon_g"],
        solar_mae_w=totals["solar_mae_w"],
        base_load_mae_w=totals["base_load_mae_w"],
        buckets=buckets,
    )
