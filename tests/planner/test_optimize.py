"""Hand-worked plans: tiny problems whose optimum is derived in each docstring, and what
the plan reports about them (status, cost, comfort, the fallback)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from planner.fleet import plan_fleet
from planner.greedy import greedy
from planner.optimize import optimize
from planner.outcome import (
    STATUS_FALLBACK,
    STATUS_INFEASIBLE,
    STATUS_INVALID,
    STATUS_OPTIMAL,
)
from planner.problem import Objective
from planner.synthetic import sample_fleet
from tests.planner.fleets import (
    tiny_fleet,
    with_battery,
    with_generator,
    with_thermal,
    with_vehicle,
)


def test_battery_charges_in_the_cheap_night_and_covers_the_evening_peak() -> None:
    """
    Prices 0.1 then 0.5 per kWh; the home needs 1 kW only in the second hour. The battery
    (2 kWh, 1 kW each way, η_c = 0.9, η_d = 1, empty) charges at its limit in the first
    hour: 1 kWh bought at 0.1 stores 0.9 kWh, delivered at 0.9 kW in the second hour, and
    0.1 kWh is imported at 0.5. Every stored kWh costs 0.1/0.9 ≈ 0.11 < 0.5, so charging
    less is worse. Cost = 1.0·0.1 + 0.1·0.5 = 0.15 (the grid alone: 0.5).
    """
    fleet = with_battery(
        tiny_fleet(import_price=[0.1, 0.5], load=[0.0, 1000.0]),
        capacity_wh=2000.0, max_charge_w=1000.0, max_discharge_w=1000.0,
        charge_efficiency=0.9,
    )  # fmt: skip

    plan = optimize(fleet)

    assert plan.status[0] == STATUS_OPTIMAL
    np.testing.assert_allclose(plan.setpoints.battery_w[0], [1000.0, -900.0], atol=1e-6)
    np.testing.assert_allclose(plan.setpoints.grid_import_w[0], [1000.0, 100.0], atol=1e-6)
    np.testing.assert_allclose(plan.setpoints.battery_wh[0], [900.0, 0.0], atol=1e-6)
    assert plan.cost[0] == pytest.approx(0.15)
    # The objective adds the stores' wear: 0.9 kWh delivered.
    assert plan.objective[0] == pytest.approx(0.15 + fleet.storage_wear_per_kwh * 0.9)


def test_battery_ends_as_full_as_it_started_when_asked_to_hold_its_level() -> None:
    """
    As above with η = 1, the battery starting with 1 kWh and asked to end with at least
    that: it may not simply deliver its kWh in the peak. It charges 1 kWh at 0.1 (limit
    1 kW), delivers 1 kWh at the peak and ends at 1 kWh: cost 0.1, level [2000, 1000].
    """
    fleet = with_battery(
        tiny_fleet(import_price=[0.1, 0.5], load=[0.0, 1000.0], hold_storage_levels=True),
        capacity_wh=2000.0, max_charge_w=1000.0, max_discharge_w=1000.0, initial_soc=0.5,
    )  # fmt: skip

    plan = optimize(fleet)

    np.testing.assert_allclose(plan.setpoints.battery_wh[0], [2000.0, 1000.0], atol=1e-6)
    assert plan.cost[0] == pytest.approx(0.1)


def test_vehicle_reaches_its_target_in_the_cheapest_hours_before_departure() -> None:
    """
    Prices 0.3, 0.1, 0.2, 0.0; the car (10 kWh, 2 kW, η = 1, at 20 %) leaves after the
    third hour and must hold 50 % then: 3 kWh to buy within the first three hours. The
    free fourth hour is out of reach (away). Cheapest: 2 kWh in hour 2 (0.1) and 1 kWh in
    hour 3 (0.2): cost 0.4. Away in hour 4 it drives 1 kWh: 4 kWh left.
    """
    fleet = with_vehicle(
        tiny_fleet(import_price=[0.3, 0.1, 0.2, 0.0]),
        home=[True, True, True, False], driving_wh=[0.0, 0.0, 0.0, 1000.0],
        target_soc=[np.nan, np.nan, 0.5, np.nan], initial_soc=0.2,
    )  # fmt: skip

    plan = optimize(fleet)

    assert plan.status[0] == STATUS_OPTIMAL
    np.testing.assert_allclose(plan.setpoints.vehicle_w[0], [0.0, 2000.0, 1000.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(
        plan.setpoints.vehicle_wh[0], [2000.0, 4000.0, 5000.0, 4000.0], atol=1e-6
    )
    assert plan.cost[0] == pytest.approx(0.4)


def test_vehicle_to_home_covers_the_peak_only_when_allowed() -> None:
    """
    Prices 0.1 then 0.5, 1 kW of load in the second hour, a car at 50 % of 10 kWh with no
    target. With V2H it delivers the 1 kWh at the peak (cost 0) and no more: exports pay
    nothing and each kWh delivered wears the battery. Without V2H the home buys 1 kWh at
    0.5.
    """
    base = tiny_fleet(import_price=[0.1, 0.5], load=[0.0, 1000.0])

    v2h = optimize(with_vehicle(base, initial_soc=0.5, v2h=True))
    plain = optimize(with_vehicle(base, initial_soc=0.5, v2h=False))

    assert v2h.cost[0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(v2h.setpoints.vehicle_w[0], [0.0, -1000.0], atol=1e-6)
    assert plain.cost[0] == pytest.approx(0.5)


def test_a_car_asked_to_end_as_full_buys_back_what_it_gives_the_home() -> None:
    """
    As above with V2H, but the car must end the horizon at its starting 5 kWh: the kWh it
    gives the peak is bought the hour before at 0.1 (η = 1): vehicle [+1000, -1000] W,
    cost 0.1 instead of 0.5.
    """
    base = tiny_fleet(import_price=[0.1, 0.5], load=[0.0, 1000.0], hold_storage_levels=True)

    plan = optimize(with_vehicle(base, initial_soc=0.5, v2h=True))

    np.testing.assert_allclose(plan.setpoints.vehicle_w[0], [1000.0, -1000.0], atol=1e-6)
    np.testing.assert_allclose(plan.setpoints.vehicle_wh[0], [6000.0, 5000.0], atol=1e-6)
    assert plan.cost[0] == pytest.approx(0.1)


def test_heater_preheats_before_the_price_peak_within_the_band() -> None:
    """
    Outdoor 0 °C, a = 0.5, b_h = 0.01 K/W, indoor 20 °C; the band is [10, 30] °C in hour 1
    and [20, 30] °C in hour 2; prices 0.1 then 1.0; a 3 kW heater.
      T1 = 0.5·20 + 0.01·P1 = 10 + 0.01·P1 ∈ [10, 30] → P1 ≤ 2000 W
      T2 = 0.5·T1 + 0.01·P2 = 5 + 0.005·P1 + 0.01·P2 ≥ 20
    A kelvin in T2 costs 0.1/1000/0.005 = 0.02 through P1 and 1.0/1000/0.01 = 0.1
    through P2, so P1 = 2000 W (its limit from the band: T1 = 30 °C) and P2 = 500 W
    (T2 = 20 °C). Cost = 2·0.1 + 0.5·1.0 = 0.7. The greedy thermostat (20 °C) draws
    1 kW each hour: 1.1.
    """
    fleet = with_thermal(
        tiny_fleet(import_price=[0.1, 1.0], outdoor=0.0),
        low=[10.0, 20.0], high=[30.0, 30.0], heater_max_w=3000.0,
        a=0.5, heating_k_per_w=0.01, initial_indoor_c=20.0, heating_setpoint_c=20.0,
    )  # fmt: skip

    plan = optimize(fleet)
    baseline = greedy(fleet)

    np.testing.assert_allclose(plan.setpoints.heater_w[0], [2000.0, 500.0], atol=1e-6)
    np.testing.assert_allclose(plan.setpoints.indoor_c[0], [30.0, 20.0], atol=1e-6)
    assert plan.cost[0] == pytest.approx(0.7)
    assert plan.comfort_violation_k_h[0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(baseline.setpoints.heater_w[0], [1000.0, 1000.0])
    assert baseline.cost[0] == pytest.approx(1.1)


def test_air_conditioner_precools_before_the_peak() -> None:
    """
    Outdoor 40 °C, a = 0.5, b_c = 0.01 K/W, indoor 25 °C; band [15, 30] then [15, 25];
    prices 0.1 then 1.0; a 3 kW unit.
      T1 = 12.5 + 20 - 0.01·C1 = 32.5 - 0.01·C1 ∈ [15, 30] → 250 ≤ C1 ≤ 1750
      T2 = 0.5·T1 + 20 - 0.01·C2 = 36.25 - 0.005·C1 - 0.01·C2 ≤ 25
    Per kelvin of T2, C1 costs 0.02 and C2 0.1: C1 = 1750 (T1 = 15), C2 = 250 (T2 = 25).
    Cost = 1.75·0.1 + 0.25·1.0 = 0.425.
    """
    fleet = with_thermal(
        tiny_fleet(import_price=[0.1, 1.0], outdoor=40.0),
        low=[15.0, 15.0], high=[30.0, 25.0], ac_max_w=3000.0,
        a=0.5, cooling_k_per_w=0.01, initial_indoor_c=25.0,
    )  # fmt: skip

    plan = optimize(fleet)

    np.testing.assert_allclose(plan.setpoints.ac_w[0], [1750.0, 250.0], atol=1e-6)
    assert plan.cost[0] == pytest.approx(0.425)


def test_comfort_out_of_reach_still_plans_and_reports_the_violation() -> None:
    """
    Outdoor 0 °C, indoor 20 °C, a = 0.5, b_h = 0.01, a 100 W heater, band ≥ 20 °C: at
    most T1 = 10 + 1 = 11 °C, 9 K short for one hour. The plan is optimal (slack), runs
    the heater flat out and reports 9 K·h.
    """
    fleet = with_thermal(
        tiny_fleet(import_price=[0.2], outdoor=0.0),
        low=[20.0], high=[30.0], heater_max_w=100.0, a=0.5, heating_k_per_w=0.01,
    )  # fmt: skip

    plan = optimize(fleet)

    assert plan.status[0] == STATUS_OPTIMAL
    assert plan.setpoints.heater_w[0, 0] == pytest.approx(100.0)
    assert plan.comfort_violation_k_h[0] == pytest.approx(9.0)


def test_generator_runs_only_when_cheaper_than_the_grid() -> None:
    """
    2 kW of load for two hours; grid 0.1 then 0.6 per kWh; a generator (3 kW, at least
    1 kW when on) at 0.3 per kWh of fuel. Hour 1: the grid (0.1 < 0.3); hour 2: the
    generator at 2 kW (0.3 < 0.6). Cost = 2·0.1 + 2·0.3 = 0.8.
    """
    fleet = with_generator(tiny_fleet(import_price=[0.1, 0.6], load=2000.0))

    plan = optimize(fleet)

    assert plan.status[0] == STATUS_OPTIMAL
    assert plan.setpoints.generator_on[0].tolist() == [False, True]
    np.testing.assert_allclose(plan.setpoints.generator_w[0], [0.0, 2000.0], atol=1e-6)
    assert plan.cost[0] == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("load_w", "runs", "cost"),
    [
        # On: 1 kW (its minimum) at 0.3, the 200 W over exported for nothing: 0.3 < 0.48.
        (800.0, True, 0.3),
        # On would still cost 0.3 for its minimum; the grid costs 0.4·0.6 = 0.24.
        (400.0, False, 0.24),
    ],
)
def test_generator_minimum_output_is_an_on_off_decision(
    load_w: float, runs: bool, cost: float
) -> None:
    """Grid at 0.6, fuel at 0.3, a 1 kW minimum when on, exports paid nothing."""
    fleet = with_generator(tiny_fleet(import_price=[0.6], load=load_w))

    plan = optimize(fleet)

    assert bool(plan.setpoints.generator_on[0, 0]) is runs
    assert plan.cost[0] == pytest.approx(cost)


def test_carbon_objective_moves_the_battery_to_the_clean_hour() -> None:
    """
    Prices 0.1 then 0.5, carbon 500 then 100 g/kWh, 1 kW of load in hour 2, a 2 kWh
    battery with η = 1, empty. Under COST it charges 1 kWh in hour 1 (cost 0.1, 500 g);
    under CARBON that kWh would emit 500 g instead of 100 g, so it stays idle (cost 0.5,
    100 g).
    """
    base = tiny_fleet(import_price=[0.1, 0.5], carbon=[500.0, 100.0], load=[0.0, 1000.0])
    cost_fleet = with_battery(base, capacity_wh=2000.0)
    carbon_fleet = with_battery(
        tiny_fleet(
            import_price=[0.1, 0.5], carbon=[500.0, 100.0], load=[0.0, 1000.0],
            objective=Objective.CARBON,
        ),
        capacity_wh=2000.0,
    )  # fmt: skip

    by_cost = optimize(cost_fleet)
    by_carbon = optimize(carbon_fleet)

    assert (by_cost.cost[0], by_cost.carbon_g[0]) == pytest.approx((0.1, 500.0))
    assert (by_carbon.cost[0], by_carbon.carbon_g[0]) == pytest.approx((0.5, 100.0))


def test_self_consumption_objective_stores_the_surplus_rather_than_export_it() -> None:
    """
    2 kW of solar in hour 1, 1 kW of load in hour 2, exports paid 0.5 (the import price),
    a 2 kWh battery with η = 0.5 each way. Under COST exporting 2 kWh (+1.0) and buying
    1 kWh (-0.5) beats storing (2 kWh in → 1 kWh out covers hour 2: 0); under
    SELF_CONSUMPTION storing exchanges nothing with the grid and every solar kWh is used
    at home.
    """
    kwargs: dict[str, Any] = dict(
        import_price=[0.5, 0.5], export_price=0.5, pv=[2000.0, 0.0], load=[0.0, 1000.0]
    )
    battery: dict[str, Any] = dict(capacity_wh=2000.0, max_charge_w=2000.0, max_discharge_w=2000.0,
                   charge_efficiency=0.5 ** 0.5, discharge_efficiency=0.5 ** 0.5)  # fmt: skip

    by_cost = optimize(with_battery(tiny_fleet(**kwargs), **battery))
    by_share = optimize(
        with_battery(tiny_fleet(**kwargs, objective=Objective.SELF_CONSUMPTION), **battery)
    )

    assert by_cost.cost[0] == pytest.approx(-0.5)
    assert by_cost.self_consumption[0] == pytest.approx(0.0)
    np.testing.assert_allclose(by_share.setpoints.grid_import_w[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(by_share.setpoints.grid_export_w[0], 0.0, atol=1e-6)
    assert by_share.self_consumption[0] == pytest.approx(1.0)


def test_export_limit_curtails_what_cannot_leave() -> None:
    """5 kW of solar, no load, exports capped at 3 kW: 3 kW exported, 2 kW curtailed."""
    fleet = tiny_fleet(import_price=[0.3], export_price=0.1, pv=5000.0, export_max_w=3000.0)

    plan = optimize(fleet)

    assert plan.setpoints.grid_export_w[0, 0] == pytest.approx(3000.0)
    assert plan.setpoints.curtailed_w[0, 0] == pytest.approx(2000.0)
    assert plan.cost[0] == pytest.approx(-0.3)


def test_target_above_capacity_is_infeasible_and_falls_back_to_greedy() -> None:
    """A departure target of 120 % cannot be met: the program is infeasible, and
    ``plan_fleet`` plans that home by the greedy rule, flagged ``fallback``."""
    fleet = with_vehicle(
        tiny_fleet(import_price=[0.2, 0.3]), target_soc=[np.nan, 1.2], initial_soc=0.5
    )

    plan = optimize(fleet)
    planned = plan_fleet(fleet)
    baseline = greedy(fleet)

    assert plan.status[0] == STATUS_INFEASIBLE
    assert np.isnan(plan.cost[0])
    assert planned.status[0] == STATUS_FALLBACK
    np.testing.assert_array_equal(planned.setpoints.vehicle_w, baseline.setpoints.vehicle_w)
    assert planned.cost[0] == pytest.approx(baseline.cost[0])


def test_import_limit_below_the_load_is_infeasible() -> None:
    """2 kW of load, the grid gives at most 1 kW, nothing else: no plan exists."""
    fleet = tiny_fleet(import_price=[0.2], load=2000.0, import_max_w=1000.0)

    assert optimize(fleet).status[0] == STATUS_INFEASIBLE


def test_one_infeasible_home_leaves_the_others_planned() -> None:
    """Two homes in one fleet, one with an impossible target: only that one falls back."""
    fleet = sample_fleet(2, intervals=96, seed=3)
    target = fleet.vehicles.target_soc.copy()
    target[1, np.isfinite(target[1])] = 1.5
    broken = replace(fleet, vehicles=replace(fleet.vehicles, target_soc=target))

    planned = plan_fleet(broken)

    assert planned.status.tolist() == [STATUS_OPTIMAL, STATUS_FALLBACK]


def test_inputs_of_the_wrong_shape_are_refused_with_the_field_named() -> None:
    fleet = tiny_fleet(import_price=[0.1, 0.2])
    broken = replace(fleet, forecasts=replace(fleet.forecasts, base_load_w=np.zeros((1, 3))))

    with pytest.raises(ValueError, match=r"forecasts\.base_load_w"):
        optimize(broken)


def test_one_homes_bad_input_makes_only_that_home_invalid() -> None:
    """Three homes: a NaN price in one, a battery that gives back nothing (η_d = 0) in
    another. Each is ``invalid`` with its field named; the third is planned, and
    ``plan_fleet`` does not guess a greedy plan for the invalid ones."""
    fleet = sample_fleet(3, seed=4)
    prices = fleet.signals.import_price_per_kwh.copy()
    prices[0, 10] = np.nan
    efficiency = fleet.batteries.discharge_efficiency.copy()
    efficiency[1] = 0.0
    broken = replace(
        fleet,
        signals=replace(fleet.signals, import_price_per_kwh=prices),
        batteries=replace(fleet.batteries, discharge_efficiency=efficiency),
    )

    reasons = broken.invalid_homes()
    plan = plan_fleet(broken)

    assert reasons.tolist() == [
        "signals.import_price_per_kwh must be finite",
        "batteries.discharge_efficiency must be in (0, 1]",
        "",
    ]
    assert plan.status.tolist() == [STATUS_INVALID, STATUS_INVALID, STATUS_OPTIMAL]
    assert np.isnan(plan.cost[:2]).all()
    assert np.isfinite(plan.cost[2])


def test_fields_of_a_device_the_home_lacks_are_not_checked() -> None:
    """A home without a battery may carry any numbers in the battery's fields."""
    fleet = tiny_fleet(import_price=[0.1, 0.2])
    junk = replace(fleet.batteries, discharge_efficiency=np.array([np.nan]))

    assert replace(fleet, batteries=junk).invalid_homes().tolist() == [""]
