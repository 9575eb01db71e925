"""
Benchmark: day-ahead plans for fleets of homes, and what they save against the greedy rule.

Run with ``python -m bench.plan`` (options: ``--homes``, ``--pool``, ``--week-homes``,
``--profile``). Each home has solar, a battery, a car and a heater (``planner.synthetic``,
seeded), 96 intervals of 15 minutes. Drawing the inputs is setup and not timed.

1. For each fleet size: the build (the whole fleet's arrays in one vectorised pass, shared
   out per home) and each home's solve (HiGHS, one thread, warm-started from the previous
   home's basis), p50/p99 per home-plan, and the total wall time in one process; then the
   same fleet split over a pool of processes (each draws its shard, then builds and solves
   it; the wall time runs from the first shard's start to the last one's end).
2. A reference week: 100 seeded homes, seven days (each day its own draw: prices,
   weather, the car's hours), planned under each objective and under the greedy rule on
   the same inputs, and under COST with one device kind at a time; prints cost and carbon
   saved. Stores must end each planned day at least as full as they started; the greedy
   rule has no such duty and ends fuller, so its change of stored energy is printed beside
   the savings, and "net" counts that extra energy as worth its day's mean import price.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from planner.greedy import greedy
from planner.optimize import Solver, optimize
from planner.outcome import STATUS_OPTIMAL, Plan
from planner.problem import Fleet, Objective
from planner.synthetic import sample_fleet

SEED = 14


def _percentiles(seconds: np.ndarray) -> str:
    return (
        f"p50 {1e3 * np.percentile(seconds, 50):7.2f} ms  "
        f"p99 {1e3 * np.percentile(seconds, 99):7.2f} ms"
    )


def _shard(homes: int, seed: int) -> tuple[float, float, np.ndarray, np.ndarray, int]:
    """Draw, then time: (start, end, build_s per home, solve_s per home, optimal count)."""
    fleet = sample_fleet(homes, seed=seed)
    started = time.time()
    plan = optimize(fleet, solver=Solver())
    ended = time.time()
    return started, ended, plan.build_s, plan.solve_s, int((plan.status == STATUS_OPTIMAL).sum())


def fleet_run(homes: int, pool: int) -> None:
    fleet = sample_fleet(homes, seed=SEED)
    started = time.perf_counter()
    plan = optimize(fleet, solver=Solver())
    wall = time.perf_counter() - started
    optimal = int((plan.status == STATUS_OPTIMAL).sum())
    build_total = float(plan.build_s.sum())
    print(f"{homes:>6} homes, 1 process : wall {wall:7.2f} s  ({optimal} optimal)")
    print(f"         build  total {build_total:6.2f} s  {_percentiles(plan.build_s)}")
    print(f"         solve  total {plan.solve_s.sum():6.2f} s  {_percentiles(plan.solve_s)}")
    per_home = plan.build_s + plan.solve_s
    print(f"         home-plan     {_percentiles(per_home)}")

    shard = -(-homes // pool)
    sizes = [min(shard, homes - k * shard) for k in range(pool)]
    with ProcessPoolExecutor(max_workers=pool, mp_context=get_context("spawn")) as executor:
        results = list(executor.map(_shard, sizes, [SEED + k for k in range(pool)]))
    first = min(result[0] for result in results)
    last = max(result[1] for result in results)
    solves = np.concatenate([result[3] for result in results])
    optimal = sum(result[4] for result in results)
    print(
        f"{homes:>6} homes, {pool} processes: wall {last - first:7.2f} s  ({optimal} optimal)  "
        f"solve {_percentiles(solves)}"
    )


def _stored(fleet: Fleet, plan: Plan) -> tuple[float, float]:
    """Change of energy in batteries and cars over the day, summed over homes [kWh], and
    that energy valued at each home's mean import price of the day [currency]."""
    s = plan.setpoints
    battery_start = fleet.batteries.initial_soc * fleet.batteries.capacity_wh
    car_start = fleet.vehicles.initial_soc * fleet.vehicles.capacity_wh
    battery = np.where(fleet.batteries.present, s.battery_wh[:, -1] - battery_start, 0.0)
    car = np.where(fleet.vehicles.present, s.vehicle_wh[:, -1] - car_start, 0.0)
    change_kwh = (battery + car) / 1000.0
    price = fleet.signals.import_price_per_kwh.mean(axis=1)
    return float(change_kwh.sum()), float((change_kwh * price).sum())


WEEK_CASES: tuple[tuple[str, Objective, dict[str, bool]], ...] = (
    ("cost", Objective.COST, {}),
    ("carbon", Objective.CARBON, {}),
    ("self_consumption", Objective.SELF_CONSUMPTION, {}),
    ("cost, battery only", Objective.COST, {"vehicle": False, "heater": False}),
    ("cost, car only", Objective.COST, {"battery": False, "heater": False}),
    ("cost, heater only", Objective.COST, {"battery": False, "vehicle": False}),
)


def reference_week(homes: int) -> None:
    days = 7
    columns = 6  # cost, carbon g, self-consumption, comfort K·h, stored kWh, stored value
    rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    fallbacks: dict[str, int] = {}
    solver = Solver()
    for name, objective, devices in WEEK_CASES:
        planned, baseline_total = np.zeros(columns), np.zeros(columns)
        fallbacks[name] = 0
        for day in range(days):
            fleet = sample_fleet(
                homes,
                seed=1000 + day,
                objective=objective,
                battery=devices.get("battery", True),
                vehicle=devices.get("vehicle", True),
                heater=devices.get("heater", True),
            )
            baseline = greedy(fleet)
            plan = optimize(fleet, solver=solver)
            ok = plan.status == STATUS_OPTIMAL
            fallbacks[name] += int((~ok).sum())
            baseline_total += [
                baseline.cost.sum(),
                baseline.carbon_g.sum(),
                baseline.self_consumption.mean(),
                baseline.comfort_violation_k_h.sum(),
                *_stored(fleet, baseline),
            ]
            planned += [
                np.where(ok, plan.cost, baseline.cost).sum(),
                np.where(ok, plan.carbon_g, baseline.carbon_g).sum(),
                np.where(ok, plan.self_consumption, baseline.self_consumption).mean(),
                np.where(ok, plan.comfort_violation_k_h, baseline.comfort_violation_k_h).sum(),
                *_stored(fleet, plan),
            ]
        rows[name] = (baseline_total, planned)
    print(f"\nreference week: {homes} homes x {days} days; each row against the greedy rule")
    print("on the same inputs (the greedy rule's own figures in brackets)")
    print(
        f"{'plan':<20}{'cost':>9}{'(greedy)':>10}{'saved':>8}{'net':>8}{'carbon kg':>11}"
        f"{'(greedy)':>10}{'saved':>8}{'self-cons.':>11}{'comfort':>9}{'stored kWh':>12}"
        f"{'(greedy)':>10}{'fallbacks':>10}"
    )
    for name, (base, plan_row) in rows.items():
        saved = 1 - plan_row[0] / base[0]
        # Net: each side's cost less the value of what it left in its stores (at the day's
        # mean import price), so ending fuller or emptier is neither a gain nor a loss.
        net = 1 - (plan_row[0] - plan_row[5]) / (base[0] - base[5])
        print(
            f"{name:<20}{plan_row[0]:>9.0f}{base[0]:>10.0f}{100 * saved:>7.1f}%{100 * net:>7.1f}%"
            f"{plan_row[1] / 1000:>11.0f}{base[1] / 1000:>10.0f}"
            f"{100 * (1 - plan_row[1] / base[1]):>7.1f}%{plan_row[2] / days:>11.3f}"
            f"{plan_row[3]:>9.1f}{plan_row[4]:>12.0f}{base[4]:>10.0f}{fallbacks[name]:>10}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--homes", default="1000,10000", help="fleet sizes, comma-separated")
    parser.add_argument("--pool", type=int, default=2, help="processes for the pooled run")
    parser.add_argument("--week-homes", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="cProfile one 1,000-home plan")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
        f", load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if args.profile:
        fleet = sample_fleet(1000, seed=SEED)
        profiler = cProfile.Profile()
        profiler.runcall(optimize, fleet, solver=Solver())
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
        return
    for homes in (int(value) for value in args.homes.split(",")):
        fleet_run(homes, args.pool)
    reference_week(args.week_homes)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
