"""The base-load forecast from the home's own history: the same local weekday and quarter
hour of the last four weeks, the synthetic profile where the home has none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.conf import settings

from planner.inputs import BASE_LOAD_WEEKS, home_inputs
from simulators.physics.home import base_load_w
from tests.devices.factories import HomeEnergyHistoryFactory, HomeFactory

pytestmark = pytest.mark.django_db

ZONE = "Europe/Berlin"
START = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Berlin
QUARTER = timedelta(minutes=15)
INTERVALS = 8


@pytest.fixture
def home(user: Any) -> Any:
    return HomeFactory(owner=user, timezone=ZONE, latitude=52.5, longitude=13.4, base_load_w=500.0)


def seed_quarter(home: Any, interval_start: datetime, watts: float) -> None:
    """Every tick of one quarter hour at a steady ``watts``."""
    tick = timedelta(seconds=settings.TICK_SECONDS)
    for n in range(1, int(QUARTER / tick) + 1):
        HomeEnergyHistoryFactory(
            home=home,
            tick_at=interval_start + n * tick,
            base_load_wh=watts * settings.TICK_SECONDS / 3600.0,
        )


def synthetic_w(home: Any, t: int) -> float:
    midpoint = (START + (t + 0.5) * QUARTER).astimezone(ZoneInfo(ZONE))
    seconds = midpoint.hour * 3600 + midpoint.minute * 60 + midpoint.second
    return float(base_load_w(home.base_load_w, seconds))


def forecast_w(home: Any) -> np.ndarray:
    inputs = home_inputs(home=home, goal=None, starts_at=START, intervals=INTERVALS)
    return inputs.fleet.forecasts.base_load_w[0]


def test_the_mean_of_the_known_weeks_and_the_profile_elsewhere(home: Any) -> None:
    week = timedelta(weeks=1)
    known: dict[int, list[float]] = {0: [300.0, 500.0], 1: [800.0], 3: [100.0, 200.0, 600.0]}
    for t, values in known.items():
        for k, watts in enumerate(values, start=1):
            seed_quarter(home, START + t * QUARTER - k * week, watts)
    # Older than the weeks averaged, and the same hour a day earlier: both left out.
    seed_quarter(home, START + 5 * QUARTER - (BASE_LOAD_WEEKS + 1) * week, 9000.0)
    seed_quarter(home, START + 6 * QUARTER - timedelta(days=1), 9000.0)
    # The ticks of the quarter before and after a known one do not leak into it.
    seed_quarter(home, START + 2 * QUARTER - week, 7000.0)
    seed_quarter(home, START + 4 * QUARTER - week, 7000.0)

    load = forecast_w(home)
    assert load[0] == pytest.approx(400.0)
    assert load[1] == pytest.approx(800.0)
    assert load[3] == pytest.approx(300.0)
    assert load[2] == pytest.approx(7000.0) and load[4] == pytest.approx(7000.0)
    for t in (5, 6, 7):
        assert load[t] == pytest.approx(synthetic_w(home, t))


def test_a_home_without_history_gets_its_synthetic_profile(home: Any) -> None:
    other = HomeFactory(timezone=ZONE)
    seed_quarter(other, START - timedelta(weeks=1), 9000.0)  # another home's history
    load = forecast_w(home)
    assert load == pytest.approx([synthetic_w(home, t) for t in range(INTERVALS)])


def test_a_week_back_is_the_same_wall_clock_time_across_a_clock_change(user: Any) -> None:
    home: Any = HomeFactory(owner=user, timezone=ZONE, base_load_w=500.0)
    after = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # Monday 11:00 CEST, the day after the change
    week_before = datetime(2026, 3, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 CET
    seed_quarter(home, week_before, 650.0)
    seed_quarter(home, after - timedelta(weeks=1), 9000.0)  # 10:00 local that Monday
    inputs = home_inputs(home=home, goal=None, starts_at=after, intervals=1)
    assert inputs.fleet.forecasts.base_load_w[0, 0] == pytest.approx(650.0)


def test_the_inputs_hash_is_the_same_for_the_same_history(home: Any) -> None:
    seed_quarter(home, START - timedelta(weeks=2), 450.0)
    first = home_inputs(home=home, goal=None, starts_at=START, intervals=INTERVALS)
    again = home_inputs(home=home, goal=None, starts_at=START, intervals=INTERVALS)
    assert first.inputs_hash() == again.inputs_hash()
    seed_quarter(home, START - timedelta(weeks=1), 550.0)
    changed = home_inputs(home=home, goal=None, starts_at=START, intervals=INTERVALS)
    assert changed.inputs_hash() != first.inputs_hash()
