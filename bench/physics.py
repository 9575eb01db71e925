"""
Benchmark: one physics tick for 1,000,000 devices of mixed kinds in 200,000 homes.

Run with ``python -m bench.physics`` (options: ``--homes``, ``--devices``,
``--repeat``, ``--profile``). Building the population arrays is setup and is not
timed; each repetition times ``simulators.physics.tick.population_tick`` including the home
balance, on one core (numpy elementwise work is single-threaded). Prints the best and
median wall time and devices per second.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import UTC, datetime

import numpy as np

from simulators.physics.ev import EV_MODE_CHARGING, EV_MODE_DISCHARGING, EV_MODE_IDLE, WEEKDAYS_MASK
from simulators.physics.synthetic import SAMPLE_ZONES
from simulators.physics.tick import (
    Batteries,
    ElectricVehicles,
    Generators,
    Homes,
    Population,
    SolarPanels,
    StorageLevels,
    Thermostats,
    population_tick,
)

ZONES = SAMPLE_ZONES
KIND_SHARES = {
    "solar": 0.30,
    "battery": 0.15,
    "ev": 0.15,
    "heater": 0.15,
    "ac": 0.15,
    "generator": 0.10,
}


def build_population(
    home_count: int, device_count: int, *, seed: int = 7
) -> tuple[Population, StorageLevels]:
    """Make a synthetic population (setup, untimed)."""
    rng = np.random.default_rng(seed)
    zone_of_home = rng.integers(0, len(ZONES), home_count)
    centre_lat = np.array([zone[1] for zone in ZONES])[zone_of_home]
    centre_lon = np.array([zone[2] for zone in ZONES])[zone_of_home]
    homes = Homes(
        latitude_deg=np.clip(centre_lat + rng.normal(0.0, 3.0, home_count), -89.0, 89.0),
        longitude_deg=centre_lon + rng.normal(0.0, 4.0, home_count),
        timezone_index=zone_of_home.astype(np.int64),
        base_load_w=rng.uniform(200.0, 800.0, home_count),
        timezones=tuple(zone[0] for zone in ZONES),
    )
    counts = {kind: int(device_count * share) for kind, share in KIND_SHARES.items()}
    counts["solar"] += device_count - sum(counts.values())
    next_id = 1

    def ids(kind: str) -> tuple[np.ndarray, np.ndarray]:
        nonlocal next_id
        n = counts[kind]
        device_id = np.arange(next_id, next_id + n, dtype=np.int64)
        next_id += n
        return device_id, np.sort(rng.integers(0, home_count, n)).astype(np.int64)

    device_id, home_index = ids("solar")
    n = device_id.size
    solar = SolarPanels(
        device_id=device_id,
        home_index=home_index,
        panel_area_m2=rng.uniform(1.6, 2.0, n) * rng.integers(4, 16, n),
        efficiency=rng.uniform(0.18, 0.22, n),
        rated_power_w=rng.uniform(2000.0, 6000.0, n),
        tilt_deg=rng.uniform(10.0, 40.0, n),
        azimuth_deg=np.where(homes.latitude_deg[home_index] >= 0, 180.0, 0.0)
        + rng.normal(0.0, 30.0, n),
    )
    device_id, home_index = ids("generator")
    n = device_id.size
    generators = Generators(
        device_id=device_id,
        home_index=home_index,
        rated_power_w=rng.uniform(2000.0, 8000.0, n),
        running=rng.random(n) < 0.2,
    )
    device_id, home_index = ids("battery")
    n = device_id.size
    capacity = rng.choice([5000.0, 10000.0, 13500.0], n)
    batteries = Batteries(
        device_id=device_id,
        home_index=home_index,
        capacity_wh=capacity,
        max_charge_w=np.full(n, 5000.0),
        max_discharge_w=np.full(n, 5000.0),
        round_trip_efficiency=np.full(n, 0.9),
        min_soc=np.full(n, 0.1),
    )
    device_id, home_index = ids("ev")
    n = device_id.size
    ev_capacity = rng.choice([40000.0, 60000.0, 75000.0], n)
    vehicles = ElectricVehicles(
        device_id=device_id,
        home_index=home_index,
        battery_capacity_wh=ev_capacity,
        max_charge_w=rng.choice([3700.0, 7400.0, 11000.0], n),
        max_discharge_w=np.full(n, 5000.0),
        charge_efficiency=np.full(n, 0.9),
        target_soc=np.full(n, 0.9),
        reserve_soc=np.full(n, 0.3),
        driving_wh_per_hour=rng.uniform(300.0, 900.0, n),
        days_mask=np.full(n, WEEKDAYS_MASK, dtype=np.int64),
        departure_s=rng.choice(np.arange(6 * 3600, 9 * 3600 + 1, 900), n).astype(np.float64),
        arrival_s=rng.choice(np.arange(16 * 3600, 19 * 3600 + 1, 900), n).astype(np.float64),
        requested_mode=rng.choice(
            np.array([EV_MODE_CHARGING, EV_MODE_DISCHARGING, EV_MODE_IDLE], dtype=np.int8),
            n,
            p=[0.7, 0.2, 0.1],
        ),
    )

    def thermostats(kind: str, low_c: float, high_c: float) -> Thermostats:
        device_id, home_index = ids(kind)
        n = device_id.size
        return Thermostats(
            device_id=device_id,
            home_index=home_index,
            rated_power_w=rng.uniform(1000.0, 3000.0, n),
            setpoint_c=rng.uniform(low_c, high_c, n),
            enabled=rng.random(n) < 0.9,
        )

    heaters = thermostats("heater", 18.0, 22.0)
    coolers = thermostats("ac", 22.0, 26.0)
    population = Population(
        homes=homes,
        solar=solar,
        generators=generators,
        batteries=batteries,
        vehicles=vehicles,
        heaters=heaters,
        air_conditioners=coolers,
    )
    levels = StorageLevels(
        battery_level_wh=capacity * rng.uniform(0.1, 1.0, capacity.size),
        ev_level_wh=ev_capacity * rng.uniform(0.2, 0.9, ev_capacity.size),
        ev_mode=None,
    )
    return population, levels


def device_total(population: Population) -> int:
    """Number of devices of every kind."""
    return sum(
        int(kind.device_id.size)
        for kind in (
            population.solar,
            population.generators,
            population.batteries,
            population.vehicles,
            population.heaters,
            population.air_conditioners,
        )
    )


def main() -> None:
    """Build, then time, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile one tick")
    arguments = parser.parse_args()

    started = time.perf_counter()
    population, levels = build_population(arguments.homes, arguments.devices)
    setup_s = time.perf_counter() - started
    devices = device_total(population)
    # 2026-06-22 17:00 UTC: a Monday, daylight in the Americas and Europe, EVs mid-trip
    # in Europe, returning in Asia; a realistic mix of branches.
    tick_at = datetime(2026, 6, 22, 17, 0, tzinfo=UTC)
    print(f"machine: {platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"python {platform.python_version()}, numpy {np.__version__}, cores {os.cpu_count()}")
    print(f"population: {arguments.homes:,} homes, {devices:,} devices (setup {setup_s:.2f} s)")

    population_tick(population, levels, tick_at=tick_at, dt_s=60.0, seed=1)  # warm-up
    if arguments.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        population_tick(population, levels, tick_at=tick_at, dt_s=60.0, seed=1)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)

    times_s = []
    for _ in range(arguments.repeat):
        started = time.perf_counter()
        result = population_tick(population, levels, tick_at=tick_at, dt_s=60.0, seed=1)
        times_s.append(time.perf_counter() - started)
    best, median = min(times_s), statistics.median(times_s)
    print(
        f"tick (incl. home balance), {arguments.repeat} runs: best {best:.3f} s, "
        f"median {median:.3f} s"
    )
    print(f"devices/s: best {devices / best:,.0f}, median {devices / median:,.0f}")
    totals = result.homes
    print(
        f"sanity: production {totals.production_w.sum() / 1e6:.1f} MW, "
        f"consumption {totals.consumption_w.sum() / 1e6:.1f} MW, "
        f"storage {totals.storage_flow_w.sum() / 1e6:+.1f} MW, "
        f"net grid {totals.net_grid_flow_w.sum() / 1e6:+.1f} MW, "
        f"mean self-sufficiency {float(totals.self_sufficiency.mean()):.3f}"
    )


if __name__ == "__main__":
    main()
