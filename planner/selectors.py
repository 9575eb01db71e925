"""Reads of goals, forecasts and plans, always of the user's own homes: a home that is not
the user's is ``Home.DoesNotExist``, as one that does not exist."""

from __future__ import annotations

from datetime import datetime

from devices import selectors as device_selectors
from devices.models import Home
from planner.inputs import HomeInputs, home_inputs, interval_start
from planner.models import HomePlan, OptimizationGoal
from planner.problem import INTERVAL_S

MAX_FORECAST_HOURS = 48


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
