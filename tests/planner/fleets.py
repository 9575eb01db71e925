"""Small fleets written out by hand for the planner's tests: one home, hour-long intervals,
every device absent unless a test names it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from planner.problem import (
    Batteries,
    Fleet,
    Forecasts,
    Generators,
    Objective,
    Signals,
    Thermal,
    Vehicles,
)

HOUR_S = 3600.0


def _row(values: Any, steps: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (1, steps)).copy()


def _one(value: Any, dtype: Any = np.float64) -> np.ndarray:
    return np.asarray([value], dtype=dtype)


def tiny_fleet(
    *,
    import_price: Any,
    export_price: Any = 0.0,
    carbon: Any = 0.0,
    outdoor: Any = 10.0,
    pv: Any = 0.0,
    load: Any = 0.0,
    objective: Objective = Objective.COST,
    import_max_w: float = 1e6,
    export_max_w: float = 1e6,
    hold_storage_levels: bool = False,
) -> Fleet:
    """A one-home fleet of ``len(import_price)`` hour-long intervals, no devices."""
    steps = len(import_price)
    off = _one(False, bool)
    zero = _one(0.0)
    return Fleet(
        signals=Signals(
            import_price_per_kwh=_row(import_price, steps),
            export_price_per_kwh=_row(export_price, steps),
            carbon_g_per_kwh=_row(carbon, steps),
            outdoor_c=_row(outdoor, steps),
        ),
        forecasts=Forecasts(pv_w=_row(pv, steps), base_load_w=_row(load, steps)),
        batteries=Batteries(
            present=off, capacity_wh=zero, max_charge_w=zero, max_discharge_w=zero,
            charge_efficiency=_one(1.0), discharge_efficiency=_one(1.0), min_soc=zero,
            initial_soc=zero,
        ),
        vehicles=Vehicles(
            present=off, capacity_wh=zero, max_charge_w=zero, max_discharge_w=zero,
            charge_efficiency=_one(1.0), discharge_efficiency=_one(1.0), initial_soc=zero,
            v2h=off, home=np.ones((1, steps), dtype=bool), driving_wh=_row(0.0, steps),
            target_soc=_row(np.nan, steps), charge_target_soc=_one(1.0),
        ),
        thermal=Thermal(
            heater_present=off, heater_max_w=zero, ac_present=off, ac_max_w=zero,
            a=_one(0.5), heating_k_per_w=_one(0.01), cooling_k_per_w=_one(0.01),
            initial_indoor_c=_one(20.0), comfort_low_c=_row(-np.inf, steps),
            comfort_high_c=_row(np.inf, steps), heating_setpoint_c=_one(20.0),
            cooling_setpoint_c=_one(26.0),
        ),
        generators=Generators(
            present=off, rated_power_w=zero, min_output_w=zero, fuel_cost_per_kwh=zero,
            carbon_g_per_kwh=zero,
        ),
        grid_import_max_w=_one(import_max_w),
        grid_export_max_w=_one(export_max_w),
        objective=objective,
        dt_s=HOUR_S,
        hold_storage_levels=hold_storage_levels,
    )  # fmt: skip


def with_battery(fleet: Fleet, **fields: Any) -> Fleet:
    """``fleet`` with a battery: the given fields (scalars) over defaults of η = 1."""
    values = {
        "capacity_wh": 10_000.0, "max_charge_w": 5_000.0, "max_discharge_w": 5_000.0,
        "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "min_soc": 0.0,
        "initial_soc": 0.0,
    } | fields  # fmt: skip
    battery = Batteries(present=_one(True, bool), **{k: _one(v) for k, v in values.items()})
    return replace(fleet, batteries=battery)


def with_vehicle(fleet: Fleet, *, home: Any = True, driving_wh: Any = 0.0,
                 target_soc: Any = np.nan, v2h: bool = False, **fields: Any) -> Fleet:  # fmt: skip
    """``fleet`` with a car: scalars for the per-home fields, rows for the per-interval ones."""
    steps = fleet.intervals
    values = {
        "capacity_wh": 10_000.0, "max_charge_w": 2_000.0, "max_discharge_w": 2_000.0,
        "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "initial_soc": 0.0,
        "charge_target_soc": 1.0,
    } | fields  # fmt: skip
    vehicle = Vehicles(
        present=_one(True, bool),
        v2h=_one(v2h, bool),
        home=np.broadcast_to(np.asarray(home, dtype=bool), (1, steps)).copy(),
        driving_wh=_row(driving_wh, steps),
        target_soc=_row(target_soc, steps),
        **{k: _one(v) for k, v in values.items()},
    )
    return replace(fleet, vehicles=vehicle)


def with_thermal(fleet: Fleet, *, low: Any, high: Any, heater_max_w: float = 0.0,
                 ac_max_w: float = 0.0, **fields: Any) -> Fleet:  # fmt: skip
    """``fleet`` with a heater and/or an air conditioner and a comfort band."""
    steps = fleet.intervals
    base = fleet.thermal
    scalars = {
        "a": base.a[0], "heating_k_per_w": base.heating_k_per_w[0],
        "cooling_k_per_w": base.cooling_k_per_w[0], "initial_indoor_c": 20.0,
        "heating_setpoint_c": 20.0, "cooling_setpoint_c": 26.0,
    } | fields  # fmt: skip
    thermal = Thermal(
        heater_present=_one(heater_max_w > 0, bool),
        heater_max_w=_one(heater_max_w),
        ac_present=_one(ac_max_w > 0, bool),
        ac_max_w=_one(ac_max_w),
        comfort_low_c=_row(low, steps),
        comfort_high_c=_row(high, steps),
        **{k: _one(v) for k, v in scalars.items()},
    )
    return replace(fleet, thermal=thermal)


def with_generator(fleet: Fleet, **fields: Any) -> Fleet:
    """``fleet`` with a generator."""
    values = {
        "rated_power_w": 3_000.0, "min_output_w": 1_000.0, "fuel_cost_per_kwh": 0.3,
        "carbon_g_per_kwh": 700.0,
    } | fields  # fmt: skip
    generator = Generators(present=_one(True, bool), **{k: _one(v) for k, v in values.items()})
    return replace(fleet, generators=generator)
