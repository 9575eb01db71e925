"""
The planning problem written a second time, independently of ``planner.optimize``: one
home, variable by variable and constraint by constraint through HiGHS's modelling layer,
straight from the formulation in ``docs/architecture.md``. Tests compare its optimum with
the planner's; they share nothing but the inputs and the solver.
"""

from __future__ import annotations

import math
from typing import Any

import highspy
import numpy as np

from planner.problem import Fleet, objective_weights


def reference_objective(fleet: Fleet, home: int) -> float | None:
    """The optimum of ``home``'s program, or None when it has no solution."""
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1e-6)
    inf = highspy.kHighsInf
    steps = fleet.intervals
    hours = fleet.dt_s / 3600.0
    sig, fc = fleet.signals, fleet.forecasts
    bat, ev, th, gen = fleet.batteries, fleet.vehicles, fleet.thermal, fleet.generators
    weights = objective_weights(fleet.objective, fleet.weights)

    def at(array: Any, t: int | None = None) -> float:
        value = np.asarray(array)[home]
        return float(value if t is None else value[t])

    objective: Any = 0.0
    battery_level: Any = None
    vehicle_level: Any = None
    indoor: Any = None
    has_battery = bool(np.asarray(bat.present)[home])
    has_vehicle = bool(np.asarray(ev.present)[home])
    has_heater = bool(np.asarray(th.heater_present)[home])
    has_ac = bool(np.asarray(th.ac_present)[home])
    has_generator = bool(np.asarray(gen.present)[home])
    capacity = at(bat.capacity_wh)
    start_level = min(max(at(bat.initial_soc), 0.0), 1.0) * capacity
    floor = min(at(bat.min_soc) * capacity, start_level)
    car_capacity = at(ev.capacity_wh)

    for t in range(steps):
        pv, load = max(at(fc.pv_w, t), 0.0), at(fc.base_load_w, t)
        price_in = at(sig.import_price_per_kwh, t)
        price_out = min(at(sig.export_price_per_kwh, t), price_in)
        grid_in = h.addVariable(0.0, at(fleet.grid_import_max_w))
        grid_out = h.addVariable(0.0, at(fleet.grid_export_max_w))
        curtailed = h.addVariable(0.0, pv)
        supply: Any = grid_in - grid_out - curtailed
        kwh = hours / 1000.0
        objective += grid_in * (
            kwh * (weights.cost * price_in + weights.carbon * at(sig.carbon_g_per_kwh, t) / 1000)
        )
        objective += grid_out * (-kwh * weights.cost * price_out)
        objective += (grid_in + grid_out) * (kwh * weights.self_consumption)

        if has_battery:
            charge = h.addVariable(0.0, at(bat.max_charge_w))
            discharge = h.addVariable(0.0, at(bat.max_discharge_w))
            lower = floor
            if fleet.hold_storage_levels and t == steps - 1:
                lower = start_level
            level = h.addVariable(lower, capacity)
            previous = start_level if battery_level is None else battery_level
            h.addConstr(
                level
                == previous
                + charge * (at(bat.charge_efficiency) * hours)
                - discharge * (hours / at(bat.discharge_efficiency))
            )
            battery_level = level
            supply = supply + discharge - charge
            objective += discharge * (fleet.storage_wear_per_kwh * kwh)

        if has_vehicle:
            plugged = bool(np.asarray(ev.home)[home, t])
            charge = h.addVariable(0.0, at(ev.max_charge_w) if plugged else 0.0)
            v2h = plugged and bool(np.asarray(ev.v2h)[home])
            discharge = h.addVariable(0.0, at(ev.max_discharge_w) if v2h else 0.0)
            target = at(ev.target_soc, t)
            needed = 0.0 if math.isnan(target) else target * car_capacity
            car_start = min(max(at(ev.initial_soc), 0.0), 1.0) * car_capacity
            if fleet.hold_storage_levels and plugged and t == steps - 1:
                needed = max(needed, car_start)
            level = h.addVariable(needed, car_capacity)
            driven = 0.0 if plugged else max(at(ev.driving_wh, t), 0.0)
            previous = (
                min(max(at(ev.initial_soc), 0.0), 1.0) * car_capacity
                if vehicle_level is None
                else vehicle_level
            )
            h.addConstr(
                level
                == previous
                + charge * (at(ev.charge_efficiency) * hours)
                - discharge * (hours / at(ev.discharge_efficiency))
                - driven
            )
            vehicle_level = level
            supply = supply + discharge - charge
            objective += discharge * (fleet.storage_wear_per_kwh * kwh)

        if has_heater or has_ac:
            heat = h.addVariable(0.0, at(th.heater_max_w) if has_heater else 0.0)
            cool = h.addVariable(0.0, at(th.ac_max_w) if has_ac else 0.0)
            temperature = h.addVariable(-inf, inf)
            below = h.addVariable(0.0, inf)
            above = h.addVariable(0.0, inf)
            a = at(th.a)
            previous = at(th.initial_indoor_c) if indoor is None else indoor
            h.addConstr(
                temperature
                == previous * a
                + (1.0 - a) * at(sig.outdoor_c, t)
                + heat * at(th.heating_k_per_w)
                - cool * at(th.cooling_k_per_w)
            )
            low, high = at(th.comfort_low_c, t), at(th.comfort_high_c, t)
            if math.isfinite(low):
                h.addConstr(temperature + below >= low)
            if math.isfinite(high):
                h.addConstr(temperature - above <= high)
            indoor = temperature
            supply = supply - heat - cool
            objective += (below + above) * (fleet.comfort_penalty_per_k_h * hours)

        if has_generator:
            running = h.addBinary()
            output = h.addVariable(0.0, at(gen.rated_power_w))
            h.addConstr(output <= running * at(gen.rated_power_w))
            h.addConstr(output >= running * at(gen.min_output_w))
            supply = supply + output
            objective += output * (
                kwh
                * (
                    weights.cost * at(gen.fuel_cost_per_kwh)
                    + weights.carbon * at(gen.carbon_g_per_kwh) / 1000
                )
            )

        h.addConstr(supply == load - pv)

    h.minimize(objective)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(h.getInfo().objective_function_value)
