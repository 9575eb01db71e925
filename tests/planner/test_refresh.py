"""The fleet-level writer: every home with a goal planned in one call, the rest left alone,
unchanged inputs kept within the interval, one bad home never stopping the others."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from devices.models import Battery, Home
from planner import services
from planner.models import HomePlan, OptimizationGoal
from tests.devices.factories import (
    BatteryFactory,
    ElectricVehicleFactory,
    HeaterFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.grid.factories import TariffFactory, TariffPeriodFactory

pytestmark = pytest.mark.django_db

QUARTER = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


def _home(owner: Any, objective: str | None = "cost", **fields: Any) -> Any:
    home = HomeFactory(owner=owner, latitude=48.1, longitude=11.6, timezone="Europe/Berlin")
    SolarPanelFactory(home=home)
    BatteryFactory(home=home, level_wh=5000.0)
    HeaterFactory(home=home, **fields)
    if objective is not None:
        OptimizationGoal.objects.create(home=home, objective=objective)
    return home


def refresh(homes: list[Any], now: datetime) -> dict[str, int]:
    return services.plans_refresh(home_ids=[h.pk for h in homes], now=now)


def test_every_home_with_a_goal_is_planned_and_none_without(user: Any, other_user: Any) -> None:
    cost, carbon = _home(user, "cost"), _home(other_user, "carbon")
    ElectricVehicleFactory(home=cost, level_wh=20_000.0)
    without = _home(user, None)

    counts = refresh([cost, carbon, without], QUARTER + timedelta(minutes=3))

    assert counts == {"planned": 2, "kept": 0, "invalid": 0, "failed": 0}
    plans = {p.home_id: p for p in HomePlan.objects.all()}
    assert set(plans) == {cost.pk, carbon.pk}
    assert plans[cost.pk].objective == "cost" and plans[carbon.pk].objective == "carbon"
    for home, plan in ((cost, plans[cost.pk]), (carbon, plans[carbon.pk])):
        assert plan.status == "optimal" and plan.starts_at == QUARTER
        assert plan.created_at == QUARTER + timedelta(minutes=3)
        planned = {d["device_id"] for d in plan.payload["devices"]}
        assert planned == set(home.devices.exclude(kind="solar_panel").values_list("pk", flat=True))
        assert all(len(d["power_w"]) == 96 for d in plan.payload["devices"])
        assert len(plan.plan_hash) == 64 and len(plan.inputs_hash) == 64
        assert plan.payload["timing"]["solve_s"] > 0


def test_a_home_planned_with_its_shard_has_the_inputs_and_optimum_it_has_alone(user: Any) -> None:
    # Read together: devices and tariffs per range, signals per region and tariff.
    homes = [_home(user) for _ in range(4)]
    TariffFactory(home=homes[1], import_price_per_kwh=0.45, export_price_per_kwh=0.02)
    TariffPeriodFactory(
        tariff__home=homes[2], start=time(17), end=time(21), import_price_per_kwh=0.6
    )
    refresh(homes, QUARTER)
    together = {p.home_id: p for p in HomePlan.objects.all()}
    HomePlan.objects.all().delete()
    for home in homes:
        view = services.plan_get_or_make(user_id=user.pk, home_id=home.pk, now=QUARTER)
        stored = together[home.pk].payload
        assert view.inputs_hash == together[home.pk].inputs_hash
        for name in ("pv_w", "base_load_w", "import_price_per_kwh", "carbon_g_per_kwh"):
            assert view.payload["intervals"][name] == stored["intervals"][name]
        # Equal optima may differ in setpoints (each solve starts from the previous basis).
        assert view.payload["expected"]["cost"] == pytest.approx(stored["expected"]["cost"])
    prices = {h.pk: together[h.pk].payload["intervals"]["import_price_per_kwh"] for h in homes}
    assert set(prices[homes[1].pk]) == {0.45}
    assert 0.6 in prices[homes[2].pk] and 0.6 not in prices[homes[0].pk]


def test_a_replan_in_the_same_interval_keeps_the_plan_and_the_next_interval_renews_it(
    user: Any,
) -> None:
    home = _home(user)
    refresh([home], QUARTER + timedelta(minutes=1))
    first = HomePlan.objects.get()

    assert refresh([home], QUARTER + timedelta(minutes=14))["kept"] == 1
    again = HomePlan.objects.get()
    assert again.created_at == first.created_at and again.plan_hash == first.plan_hash

    assert refresh([home], QUARTER + timedelta(minutes=16))["planned"] == 1
    later = HomePlan.objects.get()
    assert later.starts_at == QUARTER + timedelta(minutes=15)
    assert later.inputs_hash != first.inputs_hash


def test_a_changed_goal_makes_a_new_plan_within_the_interval(user: Any) -> None:
    home = _home(user)
    refresh([home], QUARTER)
    OptimizationGoal.objects.filter(home=home).update(objective="carbon")
    assert refresh([home], QUARTER + timedelta(minutes=2))["planned"] == 1
    assert HomePlan.objects.get().objective == "carbon"


def test_one_bad_home_does_not_stop_the_others(user: Any) -> None:
    good, invalid, broken, also_good = (_home(user) for _ in range(4))
    # Past any check a form would make: a negative stored level, a zone that does not exist.
    Battery.objects.filter(home=invalid).update(level_wh=-5000.0)
    Home.objects.filter(pk=broken.pk).update(timezone="Nowhere/Atlantis")

    counts = refresh([good, invalid, broken, also_good], QUARTER)

    assert counts == {"planned": 2, "kept": 0, "invalid": 1, "failed": 1}
    plans = {p.home_id: p for p in HomePlan.objects.all()}
    assert set(plans) == {good.pk, invalid.pk, also_good.pk}
    assert plans[good.pk].status == plans[also_good.pk].status == "optimal"
    assert plans[invalid.pk].status == "invalid"
    assert "batteries.initial_soc" in plans[invalid.pk].payload["reason"]


def test_the_shards_are_the_ranges_of_homes_with_a_goal(user: Any) -> None:
    homes = [_home(user, objective=None) for _ in range(4)]
    for home in (homes[0], homes[3]):
        OptimizationGoal.objects.create(home=home, objective="cost")
    size = 2
    expected = sorted(
        {(h.pk - h.pk % size, h.pk - h.pk % size + size) for h in (homes[0], homes[3])}
    )
    assert services.plan_shards(shard_homes=size) == expected
