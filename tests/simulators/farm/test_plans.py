"""The farm following plans: setpoints applied to simulated devices, the greedy twin stepped
beside each home with a goal, decisions recorded, the planner's history columns (the farm's
functions in this process, real Redis and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.conf import settings

from devices.live import codecs
from devices.live import store as live_store
from devices.models import HomeEnergyHistory
from grid.signals import signals_for_homes
from planner.models import Decision, HomePlan, Objective, OptimizationGoal
from planner.outcome import STATUS_FALLBACK, STATUS_OPTIMAL
from simulators import farm
from tests.devices.factories import (
    BatteryFactory,
    HeaterFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.simulators.farm.ticks import tick_in_process

pytestmark = pytest.mark.django_db

MIDNIGHT = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)  # London, no sun
PLAN_START = MIDNIGHT - timedelta(minutes=15)  # the tick at 00:00 ends interval 0
DT_S = 60.0
INTERVALS = 96


def _record(handle: bytes) -> Any:
    records, found = codecs.unpack_storages(live_store.raw_many([handle]))
    return records[0] if found[0] else None


def _real(device: Any) -> Any:
    return _record(live_store.storage_handles([device.pk])[0])


def _twin(device: Any) -> Any:
    return _record(live_store.twin_handles([device.pk])[0])


def _plan(home: Any, devices: list[tuple[Any, float]], *, status: str = STATUS_OPTIMAL,
          plan_hash: str = "p1", created_at: datetime = PLAN_START) -> HomePlan:  # fmt: skip
    payload = {
        "interval_s": 900.0,
        "intervals": {
            "pv_w": [0.0] * INTERVALS,
            "base_load_w": [350.0] * INTERVALS,
            "import_price_per_kwh": [0.10] * INTERVALS,
            "carbon_g_per_kwh": [200.0] * INTERVALS,
        },
        "devices": [
            {"device_id": d.pk, "kind": d.kind, "name": d.name, "power_w": [w] * INTERVALS}
            for d, w in devices
        ],
    }
    plan, _ = HomePlan.objects.update_or_create(
        home=home,
        defaults={
            "inputs_hash": "i1", "plan_hash": plan_hash, "objective": Objective.COST,
            "status": status, "starts_at": PLAN_START, "created_at": created_at,
            "payload": payload,
        },
    )  # fmt: skip
    return plan


@pytest.fixture
def planned(user: Any) -> dict[str, Any]:
    """A London home with a goal whose plan charges its battery at 3 kW at midnight."""
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone="Europe/London")
    battery = BatteryFactory(home=home, level_wh=5_000.0, min_soc=0.1)
    OptimizationGoal.objects.create(home=home, objective=Objective.COST)
    _plan(home, [(battery, 3_000.0)])
    return {"home": home, "battery": battery}


def test_a_planned_battery_follows_its_plan_and_its_twin_the_rule(
    planned: dict[str, Any],
) -> None:
    battery = planned["battery"]
    tick_in_process(MIDNIGHT)
    # the battery charges from the grid as planned
    real = _real(battery)
    assert float(real["flow_w"]) == pytest.approx(3_000.0)
    # its twin, from the same level, covers the night's load as the rule does
    twin = _twin(battery)
    assert twin is not None
    assert float(twin["prev_level_wh"]) == pytest.approx(5_000.0)
    assert float(twin["flow_w"]) < 0.0
    row = HomeEnergyHistory.objects.get(home=planned["home"], tick_at=MIDNIGHT)
    # charging costs now what the twin did not spend: 3 kW for a minute, and the twin's load
    # from its battery instead of the grid
    price = float(signals_for_homes(np.array([planned["home"].pk]), MIDNIGHT).import_price[0])
    assert row.baseline_cost is not None
    assert row.cost - row.baseline_cost == pytest.approx(
        (3_000.0 + row.consumption_wh * 3600 / DT_S) * DT_S / 3600 / 1000 * price, rel=1e-4
    )
    assert row.baseline_cost == pytest.approx(0.0, abs=1e-9)
    # the forecast sits beside what happened
    assert row.base_load_forecast_w == pytest.approx(350.0)
    assert row.base_load_w == pytest.approx(row.base_load_wh * 3600 / DT_S)
    assert row.solar_forecast_w == 0.0
    assert row.solar_w == 0.0


def test_the_applied_action_is_recorded_once_per_interval_and_plan(
    planned: dict[str, Any],
) -> None:
    battery = planned["battery"]
    tick_in_process(MIDNIGHT)
    decision = Decision.objects.get(device=battery)
    assert (decision.action, decision.power_w, decision.source) == ("charge", 3_000.0, "simulated")
    assert (decision.interval_start, decision.interval_end) == (PLAN_START, MIDNIGHT)
    assert (decision.plan_hash, decision.inputs_hash, decision.objective) == ("p1", "i1", "cost")
    # 3 kW for 15 minutes at 0.10 per kWh and 200 g/kWh
    assert decision.expected_cost == pytest.approx(0.075)
    assert decision.expected_carbon_g == pytest.approx(150.0)
    # the next tick is in the next interval: one more record, same action
    tick_in_process(MIDNIGHT + timedelta(seconds=DT_S))
    assert Decision.objects.filter(device=battery).count() == 2
    # a new plan for the same interval replaces that interval's record
    _plan(planned["home"], [(battery, -2_000.0)], plan_hash="p2",
          created_at=MIDNIGHT + timedelta(seconds=90))  # fmt: skip
    tick_in_process(MIDNIGHT + timedelta(seconds=2 * DT_S))
    latest = Decision.objects.get(device=battery, interval_start=MIDNIGHT)
    assert (latest.action, latest.power_w, latest.plan_hash) == ("discharge", -2_000.0, "p2")
    assert Decision.objects.filter(device=battery).count() == 2


def test_without_a_plan_to_follow_the_twin_and_the_home_are_the_same(user: Any) -> None:
    # given a sunny home with a goal whose plan fell back to the greedy rule
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone="Europe/London")
    battery = BatteryFactory(home=home, level_wh=5_000.0)
    SolarPanelFactory(home=home)
    HeaterFactory(home=home)
    OptimizationGoal.objects.create(home=home, objective=Objective.COST)
    _plan(home, [(battery, 3_000.0)], status=STATUS_FALLBACK)
    noon = MIDNIGHT + timedelta(hours=12)
    tick_in_process(noon)
    # then the home follows the rule, and its twin, with the same sun, clouds, load and
    # signals, does exactly the same
    row = HomeEnergyHistory.objects.get(home=home, tick_at=noon)
    assert row.production_wh > 0.0
    assert float(_real(battery)["flow_w"]) == pytest.approx(float(_twin(battery)["flow_w"]))
    assert row.baseline_cost == pytest.approx(row.cost)
    assert row.baseline_revenue == pytest.approx(row.revenue)
    assert row.baseline_carbon_g == pytest.approx(row.carbon_g)
    assert row.base_load_forecast_w is None  # no plan followed: no forecast to compare
    assert not Decision.objects.exists()


def test_a_home_without_a_goal_has_no_twin_and_no_planner_history(user: Any) -> None:
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone="Europe/London")
    battery = BatteryFactory(home=home, level_wh=5_000.0)
    _plan(home, [(battery, 3_000.0)])  # a plan asked for, but no goal: the rule
    tick_in_process(MIDNIGHT)
    assert float(_real(battery)["flow_w"]) < 0.0
    assert _twin(battery) is None
    row = HomeEnergyHistory.objects.get(home=home, tick_at=MIDNIGHT)
    assert (row.baseline_cost, row.baseline_carbon_g, row.solar_forecast_w) == (None, None, None)
    assert row.base_load_wh > 0.0
    assert not Decision.objects.exists()


def test_the_twin_carries_its_own_level_from_tick_to_tick_exactly_once(
    planned: dict[str, Any],
) -> None:
    battery = planned["battery"]
    tick_in_process(MIDNIGHT)
    first = _twin(battery)
    # a shard run again for the same tick steps the twin from the same input
    first_id = farm.shard_of(planned["home"].pk)
    farm.shard_simulate(
        tick_at=MIDNIGHT, home_id_from=first_id, home_id_to=first_id + settings.SIM_SHARD_HOMES
    )
    again = _twin(battery)
    assert float(again["level_wh"]) == float(first["level_wh"])
    tick_in_process(MIDNIGHT + timedelta(seconds=DT_S))
    second = _twin(battery)
    assert float(second["prev_level_wh"]) == float(first["level_wh"])
    assert float(second["level_wh"]) < float(first["level_wh"])  # still covering the load
