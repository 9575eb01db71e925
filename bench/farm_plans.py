"""`make bench-farm-plans`: what following plans and stepping the greedy twins costs the farm.

The population of ``bench-farm`` (``seed_farm``, 50 devices per home, its own database) ticks
through a real Celery worker (prefork, concurrency 2) in passes, alternately with no home having
a goal (the rule only: the plans' cache check is all the planner adds) and with every home
having a goal and an ``optimal`` plan (every battery, car, heater, air conditioner and
generator follows a setpoint, every home's twin is stepped and its storage records written).
The plans are stored directly, with seeded setpoints (charge at night, discharge in the
evening, appliances at half their rating): the farm's cost does not depend on how a plan was
solved (``make bench-plan`` times that). Each pass starts a fresh worker, so its first tick is
cold; the second writes the decisions of a new interval for every planned device; the rest are
warm. Prints each tick and the medians, and the ratio of the planned warm tick to the rule's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from bench.common import bench_env, fresh_database, manage
from bench.farm import database_name, run_tick, start_worker
from config.local_servers import stop_process

START = datetime(2026, 6, 21, 0, 1, tzinfo=UTC)
INTERVALS = 96


def _plans_store(seed: int) -> int:
    """Give every home a goal and an optimal plan with seeded setpoints; returns the homes."""
    from devices.models import Device, Home
    from planner.models import HomePlan, Objective, OptimizationGoal

    rng = np.random.default_rng(seed)
    hour = np.arange(INTERVALS) // 4
    storage = np.where(hour < 6, 1.0, np.where((hour >= 17) & (hour < 21), -1.0, 0.0))
    devices: dict[int, list[dict[str, object]]] = {}
    for pk, home_id, kind in Device.objects.values_list("pk", "home_id", "kind"):
        if kind in ("battery", "electric_vehicle"):
            power = storage * rng.uniform(1000.0, 3000.0)
        elif kind in ("heater", "air_conditioner"):
            power = np.full(INTERVALS, rng.uniform(200.0, 1500.0))
        elif kind == "generator":
            power = np.where(hour == 18, 2000.0, 0.0)
        else:
            continue
        devices.setdefault(home_id, []).append(
            {"device_id": pk, "kind": kind, "name": "", "power_w": power.tolist()}
        )
    home_ids = list(Home.objects.values_list("pk", flat=True))
    flat = [0.0] * INTERVALS
    OptimizationGoal.objects.bulk_create(
        [OptimizationGoal(home_id=h, objective=Objective.COST) for h in home_ids],
        batch_size=5000,
    )
    HomePlan.objects.bulk_create(
        [
            HomePlan(
                home_id=h, inputs_hash=f"bench-{h}", plan_hash=f"bench-{h}",
                objective=Objective.COST, status="optimal", starts_at=START - timedelta(minutes=1),
                created_at=START,
                payload={
                    "intervals": {
                        "pv_w": flat, "base_load_w": flat, "import_price_per_kwh": flat,
                        "carbon_g_per_kwh": flat,
                    },
                    "devices": devices.get(h, []),
                },
            )
            for h in home_ids
        ],
        batch_size=500,
    )  # fmt: skip
    return len(home_ids)


def _plans_clear() -> None:
    from planner.models import Decision, HomePlan, OptimizationGoal

    Decision.objects.all().delete()
    HomePlan.objects.all().delete()
    OptimizationGoal.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--devices-per-home", type=int, default=50)
    parser.add_argument("--ticks", type=int, default=4, help="ticks per pass (first cold)")
    parser.add_argument("--passes", type=int, default=2, help="passes of each, rule / plans")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    database_url = fresh_database(database_name())
    env = bench_env(database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    os.environ.update(env)
    import django

    django.setup()
    from devices.live import store
    from devices.models import Device

    have = Device.objects.count()
    if args.devices > have:
        manage(env, "seed_farm", "--homes", str((args.devices - have) // args.devices_per_home),
               "--devices-per-home", str(args.devices_per_home))  # fmt: skip
    devices = Device.objects.count()
    conn = store.client()
    print(
        f"bench-farm-plans: {devices:,} devices, {args.concurrency} worker processes, "
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    warm: dict[str, list[float]] = {"rule": [], "plans": []}
    deciding: list[float] = []
    for pass_index in range(args.passes):
        for mode in ("rule", "plans"):
            _plans_clear()
            conn.flushdb()
            if mode == "plans":
                started = time.perf_counter()
                homes = _plans_store(seed=pass_index)
                print(f"  {homes:,} goals and plans stored in {time.perf_counter() - started:.1f}s")
            worker = start_worker(env, args.concurrency)
            try:
                time.sleep(3)
                for tick in range(args.ticks):
                    # tick 0 in one interval, the rest in the next: tick 1 writes its decisions
                    at = START + timedelta(hours=2 * pass_index + (mode == "plans"),
                                           minutes=14 + tick)  # fmt: skip
                    timing = run_tick(at)
                    label = "cold" if tick == 0 else "decisions" if tick == 1 else "warm"
                    if tick >= 2:
                        warm[mode].append(timing["wall_s"])
                    elif tick == 1 and mode == "plans":
                        deciding.append(timing["wall_s"])
                    print(
                        f"  {mode} pass {pass_index + 1} tick {tick + 1} ({label}): wall "
                        f"{timing['wall_s']:.2f}s, {devices / timing['wall_s']:,.0f} devices/s | "
                        f"summed over shards: load {timing.get('load_s', 0):.2f}s, physics "
                        f"{timing.get('physics_s', 0):.2f}s, redis write "
                        f"{timing.get('write_s', 0):.2f}s | finalize "
                        f"{timing.get('finalize_s', 0):.2f}s | load average "
                        f"{os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
            finally:
                stop_process(worker, timeout_s=30)
    from planner.models import Decision

    rule, plans = statistics.median(warm["rule"]), statistics.median(warm["plans"])
    print(
        f"  median warm tick: rule {rule:.2f}s, plans and twins {plans:.2f}s, ratio "
        f"{plans / rule:.3f} | tick writing a new interval's decisions: median "
        f"{statistics.median(deciding):.2f}s ({Decision.objects.count():,} decisions in the "
        "last pass)",
        flush=True,
    )
    _plans_clear()


if __name__ == "__main__":
    main()
