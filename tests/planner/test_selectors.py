"""Decisions and savings read from what was stored: owner-scoped, bounded, summed in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.models import Home
from planner import selectors
from tests.devices.factories import (
    BatteryFactory,
    HeaterFactory,
    HomeEnergyHistoryFactory,
    HomeFactory,
)
from tests.grid.factories import TariffFactory
from tests.planner.factories import DecisionFactory

pytestmark = pytest.mark.django_db

TEN = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


@pytest.fixture
def home(user: Any) -> Any:
    return HomeFactory(owner=user)


# --- decisions ------------------------------------------------------------------------------


@pytest.fixture
def decided(home: Any) -> list[Any]:
    """Two devices, a decision each per quarter hour from 10:00 to 11:30."""
    battery, heater = BatteryFactory(home=home), HeaterFactory(home=home)
    return [
        DecisionFactory(device=device, interval_start=TEN + t * QUARTER, action=action)
        for t in range(6)
        for device, action in ((heater, "heat"), (battery, "charge"))
    ]


def test_decisions_in_the_range_by_interval_then_device(home: Any, decided: list[Any]) -> None:
    found = selectors.decisions_list(
        user_id=home.owner_id, home_id=home.pk, start=TEN + QUARTER, end=TEN + 3 * QUARTER
    )
    expected = sorted(
        (d for d in decided if TEN + QUARTER <= d.interval_start < TEN + 3 * QUARTER),
        key=lambda d: (d.interval_start, d.device_id),
    )
    assert [d.pk for d in found] == [d.pk for d in expected] and len(found) == 4


def test_decisions_beyond_the_limit_are_the_latest(home: Any, decided: list[Any]) -> None:
    found = selectors.decisions_list(
        user_id=home.owner_id, home_id=home.pk, start=TEN, end=TEN + timedelta(hours=2), limit=3
    )
    latest = sorted(decided, key=lambda d: (d.interval_start, d.device_id))[-3:]
    assert [d.pk for d in found] == [d.pk for d in latest]
    with pytest.raises(ValueError, match="limit"):
        selectors.decisions_list(
            user_id=home.owner_id, home_id=home.pk, start=TEN, end=TEN + QUARTER,
            limit=selectors.MAX_DECISIONS + 1,
        )  # fmt: skip


def test_another_users_decisions_are_not_found(
    home: Any, decided: list[Any], other_user: Any
) -> None:
    with pytest.raises(Home.DoesNotExist):
        selectors.decisions_list(
            user_id=other_user.pk, home_id=home.pk, start=TEN, end=TEN + timedelta(hours=2)
        )


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (TEN, TEN, "to"),
        (TEN, TEN - QUARTER, "to"),
        (TEN, TEN + selectors.MAX_RANGE + timedelta(seconds=1), "from"),
    ],
)
@pytest.mark.parametrize("read", [selectors.decisions_list, selectors.savings_get])
def test_empty_reversed_or_long_ranges_are_refused(
    home: Any, read: Any, start: datetime, end: datetime, field: str
) -> None:
    with pytest.raises(selectors.RangeError) as refused:
        read(user_id=home.owner_id, home_id=home.pk, start=start, end=end)
    assert refused.value.field == field


# --- savings --------------------------------------------------------------------------------

TICK = timedelta(seconds=120)


def seed_history(home: Any) -> list[dict[str, Any]]:
    """Two hours of two-minute ticks with a goal (10:02 to 12:00), then an hour without one;
    the solar forecast known for every tick, the base load's for every third."""
    with_goal = []
    for i in range(60):
        values: dict[str, Any] = {
            "cost": 0.01 * (i % 5),
            "revenue": 0.002 * (i % 3),
            "carbon_g": 10.0 + i,
            "baseline_cost": 0.012 * (i % 5) + 0.003,
            "baseline_revenue": 0.001 * (i % 3),
            "baseline_carbon_g": 14.0 + 1.5 * i,
            "solar_forecast_w": 1000.0,
            "solar_w": 1000.0 + (-1) ** i * i,
            "base_load_forecast_w": 400.0 if i % 3 == 0 else None,
            "base_load_w": 430.0 if i % 3 == 0 else 500.0,
        }
        HomeEnergyHistoryFactory(home=home, tick_at=TEN + (i + 1) * TICK, **values)
        with_goal.append({"tick_at": TEN + (i + 1) * TICK, **values})
    for i in range(30):  # no goal: no baseline, no forecasts
        HomeEnergyHistoryFactory(
            home=home, tick_at=TEN + timedelta(hours=2) + (i + 1) * TICK, cost=1.0, carbon_g=99.0
        )
    return with_goal


def test_savings_against_the_twin_over_the_ticks_with_a_goal(home: Any) -> None:
    TariffFactory(home=home, currency="GBP")
    rows = seed_history(home)
    savings = selectors.savings_get(
        user_id=home.owner_id, home_id=home.pk, start=TEN, end=TEN + timedelta(hours=4)
    )
    cost = sum(r["cost"] - r["revenue"] for r in rows)
    baseline = sum(r["baseline_cost"] - r["baseline_revenue"] for r in rows)
    carbon = sum(r["carbon_g"] for r in rows)
    baseline_carbon = sum(r["baseline_carbon_g"] for r in rows)
    assert savings.currency == "GBP"
    assert (savings.ticks, savings.first_tick_at, savings.last_tick_at) == (
        60, rows[0]["tick_at"], rows[-1]["tick_at"],
    )  # fmt: skip
    assert savings.hours == pytest.approx(60 * 120 / 3600)  # the rows' spacing, not the setting
    assert savings.cost == pytest.approx(cost)
    assert savings.baseline_cost == pytest.approx(baseline)
    assert savings.cost_saved == pytest.approx(baseline - cost) and savings.cost_saved > 0
    assert savings.carbon_g == pytest.approx(carbon)
    assert savings.baseline_carbon_g == pytest.approx(baseline_carbon)
    assert savings.carbon_saved_g == pytest.approx(baseline_carbon - carbon)
    assert savings.solar_mae_w == pytest.approx(sum(range(60)) / 60)
    assert savings.base_load_mae_w == pytest.approx(30.0)


def test_hourly_savings_add_up_to_the_total(home: Any) -> None:
    rows = seed_history(home)
    savings = selectors.savings_get(
        user_id=home.owner_id, home_id=home.pk, start=TEN, end=TEN + timedelta(hours=4)
    )
    hours = [TEN, TEN + timedelta(hours=1), TEN + timedelta(hours=2)]
    assert [b.start for b in savings.buckets] == hours
    running_cost = running_carbon = 0.0
    for bucket in savings.buckets:
        in_hour = [
            r for r in rows if bucket.start <= r["tick_at"] < bucket.start + timedelta(hours=1)
        ]
        saved = sum(
            r["baseline_cost"] - r["baseline_revenue"] - r["cost"] + r["revenue"] for r in in_hour
        )
        running_cost += saved
        running_carbon += sum(r["baseline_carbon_g"] - r["carbon_g"] for r in in_hour)
        assert bucket.hours == pytest.approx(len(in_hour) * 120 / 3600)
        assert bucket.cost_saved == pytest.approx(saved)
        assert bucket.cumulative_cost_saved == pytest.approx(running_cost)
        assert bucket.cumulative_carbon_saved_g == pytest.approx(running_carbon)
    assert savings.buckets[-1].cumulative_cost_saved == pytest.approx(savings.cost_saved)
    assert savings.buckets[-1].cumulative_carbon_saved_g == pytest.approx(savings.carbon_saved_g)


def test_savings_without_rows_are_zero_with_no_forecast_error(home: Any) -> None:
    seed_history(home)
    later = TEN + timedelta(hours=2, seconds=1)  # only ticks without a goal from here
    savings = selectors.savings_get(
        user_id=home.owner_id, home_id=home.pk, start=later, end=later + timedelta(days=1)
    )
    assert (savings.ticks, savings.hours, savings.cost_saved, savings.carbon_saved_g) == (
        0,
        0,
        0,
        0,
    )
    assert savings.solar_mae_w is None and savings.base_load_mae_w is None
    assert savings.buckets == [] and savings.first_tick_at is None


def test_another_users_savings_are_not_found(home: Any, other_user: Any) -> None:
    seed_history(home)
    for user_id, home_id in ((other_user.pk, home.pk), (home.owner_id, 987654321)):
        with pytest.raises(Home.DoesNotExist):
            selectors.savings_get(
                user_id=user_id, home_id=home_id, start=TEN, end=TEN + timedelta(hours=4)
            )
