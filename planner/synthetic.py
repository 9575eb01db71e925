"""Seeded, plausible fleets for benchmarks and tests: a day from local midnight in winter,
a two-rate-like price with an evening peak, solar, a battery, a commuting car and a heater."""

from __future__ import annotations

import numpy as np

from planner.problem import (
    HEATING_DESIGN_DELTA_C,
    INTERVAL_S,
    Batteries,
    Fleet,
    Forecasts,
    Generators,
    Objective,
    Signals,
    Thermal,
    Vehicles,
    Weights,
    heat_loss_from_rating_w_per_k,
    storage_efficiencies,
    thermal_gains,
)
from simulators.physics.home import base_load_w


def sample_fleet(
    homes: int,
    *,
    intervals: int = 96,
    seed: int = 0,
    battery: bool = True,
    vehicle: bool = True,
    heater: bool = True,
    generator: bool = False,
    objective: Objective = Objective.COST,
    weights: Weights | None = None,
) -> Fleet:
    """A fleet of ``homes`` homes with the named devices, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    steps = np.arange(intervals)
    hour = (steps * INTERVAL_S / 3600.0) % 24.0
    shape = (homes, intervals)

    peak = np.exp(-0.5 * ((hour - 18.5) / 2.0) ** 2)
    morning = np.exp(-0.5 * ((hour - 8.0) / 1.5) ** 2)
    night = (hour < 6.0) | (hour >= 23.0)
    price = 0.22 + 0.18 * peak + 0.06 * morning - 0.08 * night
    import_price = price * rng.uniform(0.85, 1.15, (homes, 1)) + rng.normal(0, 0.01, shape)
    export_price = np.full(shape, 0.06) + rng.uniform(-0.02, 0.02, (homes, 1))
    carbon = 300.0 + 120.0 * peak - 80.0 * np.exp(-0.5 * ((hour - 13.0) / 2.5) ** 2)
    carbon_g = carbon * rng.uniform(0.8, 1.2, (homes, 1)) + rng.normal(0, 10.0, shape)
    outdoor = 4.0 + 4.0 * np.cos(2 * np.pi * (hour - 15.0) / 24.0) + rng.normal(0, 2.0, (homes, 1))

    pv_peak_w = rng.uniform(2500.0, 6000.0, (homes, 1))
    daylight = np.clip(np.cos(np.pi * (hour - 12.5) / 9.0), 0.0, None) ** 1.5
    daylight = np.where(np.abs(hour - 12.5) < 4.5, daylight, 0.0)
    clouds = np.clip(rng.normal(0.7, 0.2, (homes, 1)) + rng.normal(0, 0.1, shape), 0.1, 1.0)
    pv = pv_peak_w * 0.6 * daylight * clouds
    mean_load_w = rng.uniform(300.0, 700.0, (homes, 1))
    load = base_load_w(mean_load_w, hour * 3600.0) * rng.uniform(0.8, 1.2, shape)

    eta_c, eta_d = storage_efficiencies(np.full(homes, 0.9))
    batteries = Batteries(
        present=np.full(homes, battery),
        capacity_wh=rng.choice([5000.0, 10000.0, 13500.0], homes),
        max_charge_w=np.full(homes, 5000.0),
        max_discharge_w=np.full(homes, 5000.0),
        charge_efficiency=eta_c,
        discharge_efficiency=eta_d,
        min_soc=np.full(homes, 0.1),
        initial_soc=rng.uniform(0.2, 0.6, homes),
    )

    departure = rng.integers(26, 34, (homes, 1))  # 06:30-08:15
    arrival = rng.integers(66, 78, (homes, 1))  # 16:30-19:15
    day_step = steps % 96
    away = (day_step >= departure) & (day_step < arrival)
    target = np.full(shape, np.nan)
    before = departure[:, 0] - 1
    for day in range(0, intervals, 96):
        index = day + before
        inside = index < intervals
        target[np.nonzero(inside)[0], index[inside]] = 0.8
    ev_eta_c, ev_eta_d = storage_efficiencies(np.full(homes, 0.88))
    vehicles = Vehicles(
        present=np.full(homes, vehicle),
        capacity_wh=rng.choice([40000.0, 60000.0, 77000.0], homes),
        max_charge_w=rng.choice([7400.0, 11000.0], homes),
        max_discharge_w=np.full(homes, 5000.0),
        charge_efficiency=ev_eta_c,
        discharge_efficiency=ev_eta_d,
        initial_soc=rng.uniform(0.5, 0.7, homes),
        v2h=rng.random(homes) < 0.3,
        home=~away,
        driving_wh=np.where(away, 600.0 * INTERVAL_S / 3600.0, 0.0),
        target_soc=target,
        charge_target_soc=np.full(homes, 0.8),
    )

    heater_w = rng.choice([2000.0, 3000.0, 4000.0], homes)
    ua = heat_loss_from_rating_w_per_k(heater_w * 0.8, design_delta_c=HEATING_DESIGN_DELTA_C)
    a, b_h, b_c = thermal_gains(heat_loss_w_per_k=ua, heating_cop=1.0, cooling_cop=3.0)
    thermal = Thermal(
        heater_present=np.full(homes, heater),
        heater_max_w=heater_w,
        ac_present=np.zeros(homes, dtype=bool),
        ac_max_w=np.zeros(homes),
        a=np.broadcast_to(a, (homes,)).copy(),
        heating_k_per_w=b_h,
        cooling_k_per_w=b_c,
        initial_indoor_c=np.full(homes, 20.5),
        comfort_low_c=np.where((hour >= 7.0) & (hour < 23.0), 19.5, 17.0) * np.ones(shape),
        comfort_high_c=np.full(shape, 23.0),
        heating_setpoint_c=np.full(homes, 20.5),
        cooling_setpoint_c=np.full(homes, 25.0),
    )
    generators = Generators(
        present=np.full(homes, generator),
        rated_power_w=np.full(homes, 3000.0),
        min_output_w=np.full(homes, 1000.0),
        fuel_cost_per_kwh=np.full(homes, 0.35),
        carbon_g_per_kwh=np.full(homes, 700.0),
    )
    return Fleet(
        signals=Signals(
            import_price_per_kwh=import_price,
            export_price_per_kwh=export_price,
            carbon_g_per_kwh=np.maximum(carbon_g, 0.0),
            outdoor_c=outdoor * np.ones(shape),
        ),
        forecasts=Forecasts(pv_w=pv, base_load_w=load),
        batteries=batteries,
        vehicles=vehicles,
        thermal=thermal,
        generators=generators,
        grid_import_max_w=np.full(homes, 25000.0),
        grid_export_max_w=np.full(homes, 10000.0),
        objective=objective,
        weights=weights,
    )
