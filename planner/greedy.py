"""
The greedy rule the farm follows today, stepped over a fleet's planning inputs.

Interval by interval, vectorised over homes (``simulators.physics``' rule):

1. Heaters hold their setpoint and air conditioners theirs: the power that brings the
   indoor temperature to the setpoint by the end of the interval, within the rating.
2. A car at home charges at its charger's power toward its owner's target
   (``charge_target_soc``, mode ``charging``); away, it uses its driving energy. It never
   discharges into the home.
3. The battery charges from the surplus (production - consumption - car charging) and
   covers the deficit, within its power and state-of-charge limits, never from or to the
   grid.
4. The grid takes the rest: a deficit is imported, a surplus exported up to the export
   limit and curtailed beyond it. The generator stays off.

The result is a ``Plan`` (status ``greedy``) evaluated exactly as the optimiser's, so
``greedy.cost - plan.cost`` is the saving on identical inputs.
"""

from __future__ import annotations

import time

import numpy as np

from planner.outcome import (
    STATUS_GREEDY,
    STATUS_INVALID,
    Plan,
    Setpoints,
    evaluate,
    per_home_column,
    per_interval,
)
from planner.problem import Fleet, FloatArray


def _zeros(homes: int, steps: int) -> FloatArray:
    return np.zeros((homes, steps))


def greedy(fleet: Fleet) -> Plan:
    """Every home of the fleet under the greedy rule (homes with invalid inputs: NaN and the
    status ``invalid``)."""
    fleet.validate()
    with np.errstate(all="ignore"):  # only the invalid homes' rows can divide by zero
        return _greedy(fleet)


def _greedy(fleet: Fleet) -> Plan:
    started = time.perf_counter()
    homes, steps = fleet.homes, fleet.intervals
    hours = fleet.dt_s / 3600.0
    bat, ev, th = fleet.batteries, fleet.vehicles, fleet.thermal

    def home(values: object) -> FloatArray:
        return per_home_column(values, homes)[:, 0]  # type: ignore[arg-type]

    pv = np.maximum(per_interval(fleet.forecasts.pv_w, homes, steps), 0.0)
    load = per_interval(fleet.forecasts.base_load_w, homes, steps)
    outdoor = per_interval(fleet.signals.outdoor_c, homes, steps)
    export_max = np.maximum(home(fleet.grid_export_max_w), 0.0)

    bat_on = home(bat.present) > 0
    capacity = np.where(bat_on, np.maximum(home(bat.capacity_wh), 0.0), 0.0)
    level = np.clip(home(bat.initial_soc), 0.0, 1.0) * capacity
    floor = np.clip(home(bat.min_soc), 0.0, 1.0) * capacity
    eta_c, eta_d = home(bat.charge_efficiency), home(bat.discharge_efficiency)
    max_c = np.where(bat_on, np.maximum(home(bat.max_charge_w), 0.0), 0.0)
    max_d = np.where(bat_on, np.maximum(home(bat.max_discharge_w), 0.0), 0.0)

    ev_on = home(ev.present) > 0
    ev_capacity = np.where(ev_on, np.maximum(home(ev.capacity_wh), 0.0), 0.0)
    ev_level = np.clip(home(ev.initial_soc), 0.0, 1.0) * ev_capacity
    target = ev.charge_target_soc if np.size(ev.charge_target_soc) else np.ones(homes)
    ev_ceiling = np.clip(home(target), 0.0, 1.0) * ev_capacity
    ev_eta_c = home(ev.charge_efficiency)
    ev_max_c = np.where(ev_on, np.maximum(home(ev.max_charge_w), 0.0), 0.0)
    at_home = np.asarray(per_interval(ev.home, homes, steps), dtype=bool)
    driving = np.maximum(per_interval(ev.driving_wh, homes, steps), 0.0)

    heat_on, cool_on = home(th.heater_present) > 0, home(th.ac_present) > 0
    a = home(th.a)
    b_h = np.where(heat_on, home(th.heating_k_per_w), 1.0)
    b_c = np.where(cool_on, home(th.cooling_k_per_w), 1.0)
    heat_max = np.where(heat_on, np.maximum(home(th.heater_max_w), 0.0), 0.0)
    cool_max = np.where(cool_on, np.maximum(home(th.ac_max_w), 0.0), 0.0)
    indoor = home(th.initial_indoor_c).copy()
    heat_set, cool_set = home(th.heating_setpoint_c), home(th.cooling_setpoint_c)
    low = per_interval(th.comfort_low_c, homes, steps)
    high = per_interval(th.comfort_high_c, homes, steps)
    thermal_on = heat_on | cool_on

    out = {
        name: _zeros(homes, steps)
        for name in (
            "grid_import_w", "grid_export_w", "curtailed_w", "battery_charge_w",
            "battery_discharge_w", "battery_wh", "vehicle_charge_w", "vehicle_wh",
            "heater_w", "ac_w", "indoor_c", "comfort_below_k", "comfort_above_k",
        )
    }  # fmt: skip
    for t in range(steps):
        drift = a * indoor + (1.0 - a) * outdoor[:, t]
        heat = np.clip((heat_set - drift) / b_h, 0.0, heat_max)
        cool = np.clip((drift + b_h * heat - cool_set) / b_c, 0.0, cool_max)
        indoor = np.where(thermal_on, drift + b_h * heat - b_c * cool, indoor)

        home_now = at_home[:, t] & ev_on
        want = np.maximum(ev_ceiling - ev_level, 0.0) / (ev_eta_c * hours)
        ev_charge = np.where(home_now, np.minimum(ev_max_c, want), 0.0)
        ev_level = np.where(
            home_now,
            ev_level + ev_eta_c * ev_charge * hours,
            np.maximum(ev_level - np.where(ev_on, driving[:, t], 0.0), 0.0),
        )

        surplus = pv[:, t] - load[:, t] - heat - cool - ev_charge
        room_w = np.maximum(capacity - level, 0.0) / (eta_c * hours)
        stock_w = np.maximum(level - floor, 0.0) * eta_d / hours
        charge = np.minimum(np.maximum(surplus, 0.0), np.minimum(max_c, room_w))
        discharge = np.minimum(np.maximum(-surplus, 0.0), np.minimum(max_d, stock_w))
        level = level + eta_c * charge * hours - discharge * hours / eta_d

        net = -(surplus - charge + discharge)
        export = np.minimum(np.maximum(-net, 0.0), export_max)
        out["grid_import_w"][:, t] = np.maximum(net, 0.0)
        out["grid_export_w"][:, t] = export
        out["curtailed_w"][:, t] = np.maximum(-net, 0.0) - export
        out["battery_charge_w"][:, t] = charge
        out["battery_discharge_w"][:, t] = discharge
        out["battery_wh"][:, t] = level
        out["vehicle_charge_w"][:, t] = ev_charge
        out["vehicle_wh"][:, t] = ev_level
        out["heater_w"][:, t] = heat
        out["ac_w"][:, t] = cool
        out["indoor_c"][:, t] = indoor
        band_low = np.where(thermal_on & np.isfinite(low[:, t]), low[:, t], -np.inf)
        band_high = np.where(thermal_on & np.isfinite(high[:, t]), high[:, t], np.inf)
        out["comfort_below_k"][:, t] = np.maximum(band_low - indoor, 0.0)
        out["comfort_above_k"][:, t] = np.maximum(indoor - band_high, 0.0)

    setpoints = Setpoints(
        **out,
        vehicle_discharge_w=_zeros(homes, steps),
        generator_on=np.zeros((homes, steps), dtype=bool),
        generator_w=_zeros(homes, steps),
    )
    outcome = evaluate(fleet, setpoints)
    elapsed = (time.perf_counter() - started) / max(homes, 1)
    return Plan(
        setpoints=setpoints,
        cost=outcome.cost,
        carbon_g=outcome.carbon_g,
        self_consumption=outcome.self_consumption,
        comfort_violation_k_h=outcome.comfort_violation_k_h,
        objective=outcome.objective,
        status=np.where(fleet.invalid_homes() != "", STATUS_INVALID, STATUS_GREEDY),
        build_s=np.zeros(homes),
        solve_s=np.full(homes, elapsed),
    )
