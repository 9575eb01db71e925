"""Properties of plans on random seeded fleets: the optimum equals an independently
written model's, energy is conserved and every bound holds, and under COST a plan never
does worse than the greedy rule on the same inputs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.fleet import plan_fleet
from planner.greedy import greedy
from planner.optimize import Solver, optimize
from planner.outcome import STATUS_OPTIMAL
from planner.problem import (
    Batteries,
    Fleet,
    Forecasts,
    Generators,
    Objective,
    Signals,
    Thermal,
    Vehicles,
    Weights,
    thermal_gains,
)
from planner.synthetic import sample_fleet
from tests.planner.reference import reference_objective

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def random_fleet(
    seed: int,
    *,
    homes: int,
    steps: int,
    dt_s: float,
    objective: Objective = Objective.COST,
    generator: bool = True,
) -> Fleet:
    """Homes with each device present at random, inputs drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    shape = (homes, steps)

    def some(probability: float = 0.7) -> np.ndarray:
        return rng.random(homes) < probability

    import_price = rng.uniform(0.05, 0.6, shape)
    departure = rng.integers(1, steps + 1, homes)
    home = np.arange(steps)[None, :] < departure[:, None]
    target = np.full(shape, np.nan)
    leaving = departure < steps
    target[leaving, departure[leaving] - 1] = rng.uniform(0.2, 0.9, leaving.sum())
    a, b_h, b_c = thermal_gains(
        heat_loss_w_per_k=rng.uniform(80.0, 250.0, homes),
        heating_cop=rng.choice([1.0, 3.0], homes),
        cooling_cop=3.0,
        time_constant_s=rng.uniform(3.0, 20.0, homes) * 3600.0,
        dt_s=dt_s,
    )
    low = rng.uniform(17.0, 20.0, shape)
    return Fleet(
        signals=Signals(
            import_price_per_kwh=import_price,
            export_price_per_kwh=import_price * rng.uniform(0.0, 1.2, shape),
            carbon_g_per_kwh=rng.uniform(50.0, 600.0, shape),
            outdoor_c=rng.uniform(-5.0, 32.0, (homes, 1)) + rng.normal(0.0, 2.0, shape),
        ),
        forecasts=Forecasts(
            pv_w=np.maximum(rng.normal(1500.0, 1500.0, shape), 0.0),
            base_load_w=rng.uniform(100.0, 2500.0, shape),
        ),
        batteries=Batteries(
            present=some(),
            capacity_wh=rng.uniform(2000.0, 15000.0, homes),
            max_charge_w=rng.uniform(1000.0, 6000.0, homes),
            max_discharge_w=rng.uniform(1000.0, 6000.0, homes),
            charge_efficiency=rng.uniform(0.85, 1.0, homes),
            discharge_efficiency=rng.uniform(0.85, 1.0, homes),
            min_soc=rng.uniform(0.0, 0.3, homes),
            initial_soc=rng.uniform(0.0, 1.0, homes),
        ),
        vehicles=Vehicles(
            present=some(0.6),
            capacity_wh=rng.uniform(20000.0, 80000.0, homes),
            max_charge_w=rng.uniform(2000.0, 11000.0, homes),
            max_discharge_w=rng.uniform(2000.0, 7000.0, homes),
            charge_efficiency=rng.uniform(0.85, 1.0, homes),
            discharge_efficiency=rng.uniform(0.85, 1.0, homes),
            initial_soc=rng.uniform(0.1, 0.9, homes),
            v2h=some(0.5),
            home=home,
            driving_wh=np.where(home, 0.0, rng.uniform(0.0, 3000.0, shape)),
            target_soc=target,
            charge_target_soc=np.ones(homes),
        ),
        thermal=Thermal(
            heater_present=some(0.6),
            heater_max_w=rng.uniform(1000.0, 6000.0, homes),
            ac_present=some(0.4),
            ac_max_w=rng.uniform(1000.0, 4000.0, homes),
            a=np.asarray(a),
            heating_k_per_w=np.asarray(b_h),
            cooling_k_per_w=np.broadcast_to(b_c, (homes,)).copy(),
            initial_indoor_c=rng.uniform(17.0, 24.0, homes),
            comfort_low_c=low,
            comfort_high_c=low + rng.uniform(2.0, 6.0, shape),
            heating_setpoint_c=rng.uniform(19.0, 21.0, homes),
            cooling_setpoint_c=rng.uniform(23.0, 26.0, homes),
        ),
        generators=Generators(
            present=some(0.4) & generator,
            rated_power_w=rng.uniform(2000.0, 6000.0, homes),
            min_output_w=rng.uniform(0.0, 1500.0, homes),
            fuel_cost_per_kwh=rng.uniform(0.1, 0.5, homes),
            carbon_g_per_kwh=rng.uniform(500.0, 900.0, homes),
        ),
        grid_import_max_w=rng.choice([6000.0, 1e6], homes),
        grid_export_max_w=rng.uniform(0.0, 8000.0, homes),
        objective=objective,
        weights=Weights(
            cost=rng.uniform(0, 1), carbon=rng.uniform(0, 1), self_consumption=rng.uniform(0, 0.2)
        ),
        dt_s=dt_s,
        hold_storage_levels=bool(rng.random() < 0.5),
    )


fleets = st.builds(
    random_fleet,
    seed=st.integers(0, 2**32 - 1),
    homes=st.integers(1, 3),
    steps=st.integers(2, 12),
    dt_s=st.sampled_from([900.0, 3600.0]),
    objective=st.sampled_from(list(Objective)),
)


@PROPERTY_SETTINGS
@given(fleet=fleets)
def test_objective_equals_the_independent_model(fleet: Fleet) -> None:
    plan = optimize(fleet)

    for home in range(fleet.homes):
        expected = reference_objective(fleet, home)
        if expected is None:
            assert plan.status[home] != STATUS_OPTIMAL
            continue
        assert plan.status[home] == STATUS_OPTIMAL
        assert plan.objective[home] == pytest.approx(expected, rel=1e-3, abs=1e-6)


def test_objective_equals_the_independent_model_on_a_realistic_day() -> None:
    """A full day of 96 intervals for sample homes with every device, generator included."""
    fleet = sample_fleet(4, seed=11, generator=True)

    plan = optimize(fleet)

    for home in range(fleet.homes):
        expected = reference_objective(fleet, home)
        assert expected is not None
        assert plan.objective[home] == pytest.approx(expected, rel=1e-3)


@PROPERTY_SETTINGS
@given(fleet=fleets)
def test_plans_conserve_energy_and_keep_every_bound(fleet: Fleet) -> None:
    plan = optimize(fleet)
    ok = plan.status == STATUS_OPTIMAL
    s = plan.setpoints
    hours = fleet.dt_s / 3600.0
    tol = 1e-5

    supply = (
        fleet.forecasts.pv_w
        - s.curtailed_w
        + s.grid_import_w
        + s.battery_discharge_w
        + s.vehicle_discharge_w
        + s.generator_w
    )
    demand = (
        fleet.forecasts.base_load_w
        + s.grid_export_w
        + s.battery_charge_w
        + s.vehicle_charge_w
        + s.heater_w
        + s.ac_w
    )
    np.testing.assert_allclose(supply[ok], demand[ok], atol=1e-4, rtol=1e-7)

    bat = fleet.batteries
    capacity = np.where(bat.present, bat.capacity_wh, 0.0)[:, None]
    start = (bat.initial_soc * np.where(bat.present, bat.capacity_wh, 0.0))[:, None]
    floor = np.minimum(bat.min_soc[:, None] * capacity, start)
    level = s.battery_wh
    assert (level[ok] >= floor[ok] - tol).all()
    assert (level[ok] <= capacity[ok] + tol).all()
    previous = np.concatenate([start, level[:, :-1]], axis=1)
    stored = (
        previous
        + bat.charge_efficiency[:, None] * s.battery_charge_w * hours
        - s.battery_discharge_w * hours / bat.discharge_efficiency[:, None]
    )
    np.testing.assert_allclose(level[ok], stored[ok], atol=1e-4)
    assert (s.battery_charge_w[ok] <= bat.max_charge_w[:, None][ok] + tol).all()

    ev = fleet.vehicles
    car = np.where(ev.present, ev.capacity_wh, 0.0)[:, None]
    assert (s.vehicle_wh[ok] <= car[ok] + tol).all()
    assert (s.vehicle_wh[ok] >= -tol).all()
    wanted = np.nan_to_num(ev.target_soc, nan=0.0) * car
    assert (s.vehicle_wh[ok] >= wanted[ok] - tol).all()
    if fleet.hold_storage_levels:
        car_start = ev.initial_soc * np.where(ev.present, ev.capacity_wh, 0.0)
        ends_home = ok & ev.home[:, -1]
        assert (s.vehicle_wh[ends_home, -1] >= car_start[ends_home] - tol).all()
        assert (level[ok, -1] >= start[ok, 0] - tol).all()
    away = ~ev.home
    assert (s.vehicle_charge_w[ok][away[ok]] <= tol).all()
    no_v2h = ~ev.v2h[:, None] | away
    assert (s.vehicle_discharge_w[ok][no_v2h[ok]] <= tol).all()

    assert (s.grid_import_w[ok] <= fleet.grid_import_max_w[:, None][ok] + tol).all()
    assert (s.grid_export_w[ok] <= fleet.grid_export_max_w[:, None][ok] + tol).all()
    assert (s.curtailed_w[ok] <= fleet.forecasts.pv_w[ok] + tol).all()
    gen = fleet.generators
    running = s.generator_on[ok]
    assert (s.generator_w[ok] <= running * gen.rated_power_w[:, None][ok] + tol).all()
    assert (s.generator_w[ok] >= running * gen.min_output_w[:, None][ok] - tol).all()


@PROPERTY_SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    homes=st.integers(1, 4),
    steps=st.integers(2, 16),
    dt_s=st.sampled_from([900.0, 3600.0]),
)
def test_plan_never_does_worse_than_greedy_under_cost(
    seed: int, homes: int, steps: int, dt_s: float
) -> None:
    """
    The greedy rule's setpoints are one feasible point of the same program (stores need
    not end as full as they started here), so the optimum's objective — cost, wear and
    comfort penalty — is at most theirs; a home without a solution falls back to greedy
    and ties.
    """
    fleet = replace(
        random_fleet(seed, homes=homes, steps=steps, dt_s=dt_s, generator=False),
        objective=Objective.COST,
        hold_storage_levels=False,
        grid_import_max_w=np.full(homes, 1e6),
    )

    plan = plan_fleet(fleet)
    baseline = greedy(fleet)

    assert (plan.objective <= baseline.objective + 1e-6 + 1e-6 * np.abs(baseline.objective)).all()
    no_comfort_cost = (plan.comfort_violation_k_h == 0) & (baseline.comfort_violation_k_h == 0)
    assert (plan.cost[no_comfort_cost] <= baseline.cost[no_comfort_cost] + 1e-3).all()


def test_warm_starts_change_the_path_not_the_answer() -> None:
    """Each home solved from the previous home's basis ends at the cold start's optimum."""
    fleet = sample_fleet(30, seed=21)

    warm = optimize(fleet, solver=Solver())
    cold = optimize(fleet, solver=Solver(warm=False))

    assert (warm.status == STATUS_OPTIMAL).all()
    np.testing.assert_allclose(warm.objective, cold.objective, rtol=1e-6)


def test_the_time_limit_applies_to_each_home_not_to_the_solvers_whole_life() -> None:
    """HiGHS's clock runs across runs of one instance; a solver that has spent more than
    its per-home limit in all still plans the next home (here 60 cold solves of a few
    milliseconds each against a 0.2 s limit)."""
    fleet = sample_fleet(60, seed=22)
    solver = Solver(time_limit_s=0.2, warm=False)

    plan = optimize(fleet, solver=solver)

    assert solver.highs.getRunTime() > 0.2
    assert (plan.status == STATUS_OPTIMAL).all()


def test_a_fleet_built_in_parts_plans_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built two homes at a time, five homes get the plans they get built together."""
    import planner.optimize

    fleet = sample_fleet(5, seed=23)
    whole = optimize(fleet, solver=Solver(warm=False))
    monkeypatch.setattr(planner.optimize, "BUILD_HOMES", 2)

    parts = optimize(fleet, solver=Solver(warm=False))

    np.testing.assert_allclose(parts.objective, whole.objective, rtol=1e-9)
    np.testing.assert_allclose(parts.setpoints.battery_w, whole.setpoints.battery_w, atol=1e-6)
