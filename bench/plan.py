"""
Benchmark: day-ahead plans for fleets of homes, and what they save against the greedy rule.

Run with ``python -m tests.with_servers -- python -m bench.plan`` (``make bench-plan``;
options: ``--homes``, ``--pool``, ``--week-homes``, ``--profile``, ``--celery-homes``,
``--workers``, ``--shard-homes``). Each home has solar, a battery, a car and a heater
(``planner.synthetic``, seeded), 96 intervals of 15 minutes. Drawing the inputs is setup and
not timed.

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
3. Through Celery workers: for each of ``--celery-homes`` the homes are seeded into their own
   database (``seed_farm``: solar, battery, car and heater per home; a cost goal each, by
   ``bulk_create``), ``--workers`` real worker processes (concurrency 1 each) start on the
   ``default`` and ``sim`` queues, ``planner.plan_fleet`` is sent as beat would, and the run
   ends when every home has a plan made after the send. Prints the wall time, plans/s, the
   p50/p99 per home of reading its inputs from the database, building and solving, and the
   wall time against the 60 s target and against part 1's one-process time of the same size.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from django.db.models import Count

from bench.common import ROOT, bench_env, fresh_database, manage
from config.local_servers import stop_process
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


def fleet_run(homes: int, pool: int) -> float:
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
    return wall


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


TARGET_S = 60.0
"""The fleet's plans are wanted within a minute."""


def _seed_goals(env: dict[str, str], homes: int) -> float:
    """Grow the bench database to ``homes`` homes of solar, battery, car and heater, each
    with a cost goal; returns the seconds it took."""
    from devices.models import Home
    from planner.models import OptimizationGoal

    started = time.perf_counter()
    have = Home.objects.count()
    if homes > have:
        # Four devices per home in seed_farm's shares: a panel, a battery, a car, a heater.
        manage(env, "seed_farm", "--homes", str(homes - have), "--devices-per-home", "4")
    missing = Home.objects.filter(optimization_goal__isnull=True).values_list("pk", flat=True)
    OptimizationGoal.objects.bulk_create(
        [OptimizationGoal(home_id=pk, objective="cost") for pk in missing], batch_size=5000
    )
    return time.perf_counter() - started


def through_celery(
    sizes: list[int], workers: int, shard_homes: int, one_process: dict[int, float]
) -> None:
    database_url = fresh_database(f"{_database_base()}_bench_plan")
    extra = {"SIM_SHARD_HOMES": str(shard_homes)} if shard_homes else {}
    env = bench_env(database_url, **extra)
    manage(env, "migrate", "--noinput", "-v", "0")
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    from celery_app import app
    from devices.live import store
    from planner.models import HomePlan

    print(
        f"\nthrough Celery workers: {workers} worker processes (concurrency 1 each), "
        f"{settings.SIM_SHARD_HOMES} homes per shard, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    store.client().flushdb()
    app.control.purge()
    for homes in sizes:
        seeded_s = _seed_goals(env, homes)
        HomePlan.objects.all().delete()
        processes = [_worker(env, k) for k in range(workers)]
        try:
            _wait_for_workers(app, workers)
            sent_at = datetime.now(UTC)
            started = time.perf_counter()
            app.send_task("planner.plan_fleet", kwargs={}, queue="default")
            made = HomePlan.objects.filter(created_at__gte=sent_at)
            deadline = time.monotonic() + 3600
            while made.count() < homes:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{made.count()} of {homes} plans after an hour")
                time.sleep(0.2)
            wall = time.perf_counter() - started
        finally:
            for process in processes:
                stop_process(process, timeout_s=30)
        timing = np.array(
            list(
                made.values_list(
                    "payload__timing__inputs_s", "payload__timing__build_s",
                    "payload__timing__solve_s",
                )
            ),
            dtype=float,
        )  # fmt: skip
        statuses = dict(
            made.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
        )
        inputs_s, build_s, solve_s = timing[:, 0], timing[:, 1], timing[:, 2]
        print(
            f"{homes:>6} homes through Celery: wall {wall:7.2f} s  {homes / wall:7.1f} plans/s  "
            f"{statuses}  (seeded in {seeded_s:.1f} s)",
            flush=True,
        )
        print(f"         inputs total {inputs_s.sum():6.2f} s  {_percentiles(inputs_s)}")
        print(f"         build  total {build_s.sum():6.2f} s  {_percentiles(build_s)}")
        print(f"         solve  total {solve_s.sum():6.2f} s  {_percentiles(solve_s)}")
        reference = one_process.get(homes)
        versus = f", {wall / reference:.2f}x the one-process time" if reference else ""
        print(
            f"         wall / 60 s target {wall / TARGET_S:.2f}{versus}; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            flush=True,
        )


def _database_base() -> str:
    return urlsplit(os.environ["DATABASE_URL"]).path.strip("/") or "gridtwin"


def _worker(env: dict[str, str], index: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_app", "worker",
         "--queues", "default,sim,plan", "--concurrency", "1", "--pool", "prefork",
         "--hostname", f"bench-plan-{index}@%h",
         "--without-heartbeat", "--without-mingle", "--without-gossip",
         "--loglevel", "WARNING"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def _wait_for_workers(app: Any, workers: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(app.control.ping(timeout=0.5) or []) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workers} workers did not answer within {timeout_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--homes", default="1000,10000", help="fleet sizes, comma-separated")
    parser.add_argument("--pool", type=int, default=2, help="processes for the pooled run")
    parser.add_argument("--week-homes", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="cProfile one 1,000-home plan")
    parser.add_argument(
        "--celery-homes", default="1000,10000", help="fleet sizes through Celery ('' skips)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--shard-homes", type=int, default=0, help="SIM_SHARD_HOMES override")
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
    one_process: dict[int, float] = {}
    for homes in (int(value) for value in args.homes.split(",")):
        one_process[homes] = fleet_run(homes, args.pool)
    reference_week(args.week_homes)
    if args.celery_homes:
        sizes = [int(value) for value in args.celery_homes.split(",")]
        through_celery(sizes, args.workers, args.shard_homes, one_process)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
