"""A home with a goal on the live path: real Celery workers (the farm's queues and the
planner's) and beat at a 2 s tick. Beat's first planning run plans the home at once, the
battery follows the plan, every applied action is a decision of that plan, and history keeps
the greedy twin's figures beside the home's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command

from devices.live import store
from devices.models import HomeEnergyHistory
from planner.models import Decision, HomePlan, OptimizationGoal
from planner.problem import INTERVAL_S
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory
from tests.polling import wait_until
from tests.simulators.farm.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TICK_S = 2


@pytest.fixture
def two_second_ticks(settings: Any) -> None:
    settings.TICK_SECONDS = TICK_S
    call_command("setup_schedule")


def test_a_home_with_a_goal_follows_its_plan_beside_its_twin(
    stack: Stack, two_second_ticks: None, user: Any, tmp_path: Any
) -> None:
    # given a home with a goal stored as the demo's is (no plan asked for)
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone="Europe/London")
    battery = BatteryFactory(home=home, level_wh=6_000.0)
    SolarPanelFactory(home=home)
    OptimizationGoal.objects.create(home=home, objective="cost")
    # when the workers and beat start
    stack.worker(concurrency=2, queues="default,sim,plan")
    stack.beat(tmp_path)
    # then beat's first planning run plans it (the planning interval is 15 minutes)
    wait_until(lambda: HomePlan.objects.filter(home=home).exists(), "the fleet's first plan", 30)
    stored = HomePlan.objects.get(home=home)
    assert stored.status == "optimal"
    followed = HomeEnergyHistory.objects.filter(home=home, solar_forecast_w__isnull=False)
    wait_until(lambda: followed.count() >= 3, "three ticks following the plan", 60)
    # then the battery's live flow is the plan's setpoint for the interval of its tick
    storage = store.device_storages([battery.pk])[0]
    assert storage is not None
    stored.refresh_from_db()
    k = int((storage["ts"] - 1e-3 - stored.starts_at.timestamp()) // INTERVAL_S)
    setpoints = next(d for d in stored.payload["devices"] if d["device_id"] == battery.pk)
    assert storage["flow_w"] == pytest.approx(setpoints["power_w"][k], abs=0.5)
    # and the action applied is recorded with the plan and inputs it came from
    decision = Decision.objects.get(
        device=battery, interval_start=stored.starts_at + timedelta(seconds=k * INTERVAL_S)
    )
    assert decision.plan_hash == stored.plan_hash
    assert decision.inputs_hash == stored.inputs_hash
    assert decision.power_w == pytest.approx(setpoints["power_w"][k])
    assert decision.source == "simulated"
    # and every tick since has the twin's figures and the forecast beside the actual; the ticks
    # before the plan had the twin but nothing to follow
    for row in followed:
        assert row.baseline_cost is not None and row.baseline_carbon_g is not None
        assert row.solar_w is not None
        assert row.base_load_forecast_w is not None and row.base_load_w is not None
    assert HomeEnergyHistory.objects.filter(home=home, baseline_cost__isnull=True).count() == 0
