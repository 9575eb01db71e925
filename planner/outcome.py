"""
What a plan asks of the devices and what it gives: setpoints, the fleet's plan, and the
one evaluation of cost, carbon, self-consumption and comfort that the optimiser and the
greedy rule share, so their figures compare on identical inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.problem import BoolArray, Fleet, FloatArray, objective_weights

STATUS_OPTIMAL = "optimal"
STATUS_INFEASIBLE = "infeasible"
STATUS_FAILED = "failed"
STATUS_INVALID = "invalid"
"""The home's inputs are out of range (``Fleet.invalid_homes`` says which); nothing planned."""
STATUS_GREEDY = "greedy"
"""Planned by the greedy rule: as the baseline, or as the fallback of a failed program."""
STATUS_FALLBACK = "fallback"
"""The program had no solution (``infeasible``/``failed``); the greedy rule planned."""


def per_interval(values: npt.ArrayLike, homes: int, intervals: int) -> FloatArray:
    """``values`` as an (H, T) array (a read-only broadcast view where possible)."""
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (homes, intervals))


def per_home_column(values: npt.ArrayLike, homes: int) -> FloatArray:
    """``values`` as an (H, 1) column, ready to broadcast against (H, T)."""
    return np.asarray(np.broadcast_to(np.asarray(values, dtype=np.float64), (homes,)))[:, None]


@dataclass(frozen=True, slots=True)
class Setpoints:
    """
    What a plan asks of each home in each interval, (H, T) each. [W], [Wh], [°C], [K]

    ``battery_w`` and ``vehicle_w`` are net flows, positive charging (the project's sign
    convention); ``*_wh`` are stored energy at the end of the interval.
    """

    grid_import_w: FloatArray
    grid_export_w: FloatArray
    curtailed_w: FloatArray
    battery_charge_w: FloatArray
    battery_discharge_w: FloatArray
    battery_wh: FloatArray
    vehicle_charge_w: FloatArray
    vehicle_discharge_w: FloatArray
    vehicle_wh: FloatArray
    heater_w: FloatArray
    ac_w: FloatArray
    indoor_c: FloatArray
    comfort_below_k: FloatArray
    comfort_above_k: FloatArray
    generator_on: BoolArray
    generator_w: FloatArray

    @property
    def battery_w(self) -> FloatArray:
        return np.asarray(self.battery_charge_w - self.battery_discharge_w)

    @property
    def vehicle_w(self) -> FloatArray:
        return np.asarray(self.vehicle_charge_w - self.vehicle_discharge_w)


@dataclass(frozen=True, slots=True)
class Plan:
    """
    A fleet's plans: setpoints (H, T) and, per home (H,), what they are expected to give.

    ``cost`` in currency, ``carbon_g`` in g CO₂, ``self_consumption`` the share of
    production used at home [-], ``comfort_violation_k_h`` the kelvin-hours outside the
    band, ``objective`` the minimised value, ``status`` one of the ``STATUS_*`` names,
    ``build_s``/``solve_s`` per home (the fleet's build shared out evenly). [s]
    """

    setpoints: Setpoints
    cost: FloatArray
    carbon_g: FloatArray
    self_consumption: FloatArray
    comfort_violation_k_h: FloatArray
    objective: FloatArray
    status: npt.NDArray[np.str_]
    build_s: FloatArray
    solve_s: FloatArray


@dataclass(frozen=True, slots=True)
class Outcome:
    """What setpoints give on a fleet's inputs, per home (H,)."""

    cost: FloatArray
    carbon_g: FloatArray
    self_consumption: FloatArray
    comfort_violation_k_h: FloatArray
    objective: FloatArray


def evaluate(fleet: Fleet, setpoints: Setpoints) -> Outcome:
    """Cost, carbon, self-consumption, comfort and the objective of setpoints, per home."""
    homes, steps = fleet.homes, fleet.intervals
    hours = fleet.dt_s / 3600.0
    kwh_per_w = hours / 1000.0
    sig, gen = fleet.signals, fleet.generators
    import_price = per_interval(sig.import_price_per_kwh, homes, steps)
    export_price = np.minimum(per_interval(sig.export_price_per_kwh, homes, steps), import_price)
    carbon = per_interval(sig.carbon_g_per_kwh, homes, steps)
    imported = setpoints.grid_import_w * kwh_per_w
    exported = setpoints.grid_export_w * kwh_per_w
    generated = setpoints.generator_w * kwh_per_w
    fuel = per_home_column(gen.fuel_cost_per_kwh, homes)
    gen_carbon = per_home_column(gen.carbon_g_per_kwh, homes)
    cost = (import_price * imported - export_price * exported + fuel * generated).sum(axis=1)
    carbon_g = (carbon * imported + gen_carbon * generated).sum(axis=1)
    pv = np.maximum(per_interval(fleet.forecasts.pv_w, homes, steps), 0.0)
    produced = pv.sum(axis=1)
    used = (pv - setpoints.curtailed_w - setpoints.grid_export_w).sum(axis=1)
    share = np.divide(used, produced, out=np.zeros(homes), where=produced > 0.0)
    violation = ((setpoints.comfort_below_k + setpoints.comfort_above_k) * hours).sum(axis=1)
    weights = objective_weights(fleet.objective, fleet.weights)
    penalty = fleet.comfort_penalty_per_k_h * violation
    exchanged = (imported + exported).sum(axis=1)
    delivered = (setpoints.battery_discharge_w + setpoints.vehicle_discharge_w).sum(axis=1)
    wear = fleet.storage_wear_per_kwh * delivered * kwh_per_w
    objective = (
        weights.cost * cost
        + weights.carbon * carbon_g / 1000.0
        + weights.self_consumption * exchanged
        + penalty
        + wear
    )
    return Outcome(
        cost=np.asarray(cost),
        carbon_g=np.asarray(carbon_g),
        self_consumption=np.asarray(np.clip(share, 0.0, 1.0)),
        comfort_violation_k_h=np.asarray(violation),
        objective=np.asarray(objective),
    )
