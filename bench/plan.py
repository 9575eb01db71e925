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
   the same inputs; prints cost and carbon saved. Stores must end each planned day at
   least as full as they started; the greedy rule has no such duty, so its change of
   stored energy is printed beside the savings.
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
    print(f"         build  total {build_total:6.2f} s  per home {1e3 * plan.build_s[0]:.3f} ms")
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


def _stored_wh(fleet: Fleet, plan: Plan) -> float:
    """Change of energy in batteries and cars over the day, summed over homes. [Wh]"""
    s = plan.setpoints
    battery_start = fleet.batteries.initial_soc * fleet.batteries.capacity_wh
    car_start = fleet.vehicles.initial_soc * fleet.vehicles.capacity_wh
    change = (s.battery_wh[:, -1] - battery_start) + (s.vehicle_wh[:, -1] - car_start)
    return float(np.nansum(change))


def reference_week(homes: int) -> None:
    days = 7
    objectives = (Objective.COST, Objective.CARBON, Objective.SELF_CONSUMPTION)
    totals = {name: np.zeros(5) for name in ["greedy", *[o.value for o in objectives]]}
    fallbacks = dict.fromkeys(totals, 0)
    solver = Solver()
    for day in range(days):
        base = sample_fleet(homes, seed=1000 + day)
        baseline = greedy(base)
        totals["greedy"] += [
            baseline.cost.sum(),
            baseline.carbon_g.sum(),
            baseline.self_consumption.mean(),
            baseline.comfort_violation_k_h.sum(),
            _stored_wh(base, baseline),
        ]
        for objective in objectives:
            fleet = sample_fleet(homes, seed=1000 + day, objective=objective)
            plan = optimize(fleet, solver=solver)
            ok = plan.status == STATUS_OPTIMAL
            fallbacks[objective.value] += int((~ok).sum())
            totals[objective.value] += [
                np.where(ok, plan.cost, baseline.cost).sum(),
                np.where(ok, plan.carbon_g, baseline.carbon_g).sum(),
                np.where(ok, plan.self_consumption, baseline.self_consumption).mean(),
                np.where(ok, plan.comfort_violation_k_h, baseline.comfort_violation_k_h).sum(),
                _stored_wh(fleet, plan),
            ]
    greedy_cost, greedy_carbon = totals["greedy"][0], totals["greedy"][1]
    print(f"\nreference week: {homes} homes x {days} days, same inputs for every row")
    print(
        f"{'plan':<17}{'cost':>10}{'saved':>9}{'carbon kg':>11}{'saved':>9}"
        f"{'self-cons.':>11}{'comfort K·h':>13}{'stored kWh':>12}{'fallbacks':>10}"
    )
    for name, (cost, carbon, share, comfort, stored) in totals.items():
        print(
            f"{name:<17}{cost:>10.2f}{100 * (1 - cost / greedy_cost):>8.1f}%"
            f"{carbon / 1000:>11.1f}{100 * (1 - carbon / greedy_carbon):>8.1f}%"
            f"{share / days:>11.3f}{comfort:>13.2f}{stored / 1000:>12.1f}{fallbacks[name]:>10}"
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
