"""`make bench-farm`: real ticks through a real Celery worker, Redis and PostgreSQL.

For each population size (default 10,000, 100,000 and 1,000,000 devices, 50 per home) the
population is seeded with ``seed_farm`` into its own database (the name of DATABASE_URL's
database with ``_bench_farm`` after it), the live-state Redis database is flushed, and
``--ticks`` ticks run one after another through a Celery worker (prefork, concurrency 2)
exactly as beat would start them. The first tick of each pass is cold (parameters loaded from
PostgreSQL); the next are warm (parameter cache hits). Prints per tick: wall time from start
to the end of finalize, devices/s, and the seconds spent per phase (summed over shards, so over
both processes), then Redis memory per device (INFO memory around the first tick).

The ledger's cost: each size runs in passes, alternately with the ledger off (a worker of
``bench.farm_without_ledger``: no signals, no weather, no ledger step) and on (the project's
worker), ``--passes`` of each; each pass starts a fresh worker, so its first tick is cold (and
a checkpoint tick: the tick minutes are chosen so). The
summary gives the median warm tick of each and their ratio, and the ledger's own seconds
(signals and the ledger step, summed over shards) as a share of the warm tick.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bench.common import ROOT, bench_env, fresh_database, manage
from config.local_servers import stop_process


def database_name() -> str:
    """``<the database of DATABASE_URL>_bench_farm``: each deployment benches in its own."""
    base = urlsplit(os.environ["DATABASE_URL"]).path.strip("/") or "gridtwin"
    return f"{base}_bench_farm"


START = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def start_worker(
    env: dict[str, str], concurrency: int, app: str = "celery_app"
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", app, "worker", "--queues",
         "default,sim", "--concurrency", str(concurrency), "--pool", "prefork",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
        env=env, cwd=ROOT,
    )  # fmt: skip


def run_tick(tick_at: datetime, timeout_s: float = 600) -> dict[str, float]:
    from devices.live import keys, store
    from simulators.tasks import tick_run

    conn = store.client()
    key = keys.farm_timing_key(int(tick_at.timestamp()))
    conn.delete(key)
    # finalize records its timing just before it lets the next tick start
    deadline = time.monotonic() + 30
    while conn.exists(keys.farm_running_key()) and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.time()
    outcome = tick_run(tick_at=tick_at)
    if outcome != "started":
        raise RuntimeError(f"tick {tick_at} not started: {outcome}")
    deadline = time.monotonic() + timeout_s
    while not conn.hexists(key, "finished_at"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"tick {tick_at} did not finish in {timeout_s}s")
        time.sleep(0.02)
    timing = {k.decode(): float(v) for k, v in conn.hgetall(key).items()}
    timing["wall_s"] = timing["finished_at"] - started
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--devices-per-home", type=int, default=50)
    parser.add_argument("--ticks", type=int, default=3, help="ticks per pass (first cold)")
    parser.add_argument("--passes", type=int, default=2, help="passes of each, ledger off/on")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--shard-homes", type=int, default=0, help="SIM_SHARD_HOMES override")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    per_home = args.devices_per_home

    database_url = fresh_database(database_name())
    extra = {"SIM_SHARD_HOMES": str(args.shard_homes)} if args.shard_homes else {}
    env = bench_env(database_url, **extra)
    manage(env, "migrate", "--noinput", "-v", "0")
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    from devices.live import store
    from devices.models import Device

    apps = {"off": "bench.farm_without_ledger", "on": "celery_app"}
    print(
        f"bench-farm: {args.concurrency} worker processes, {settings.SIM_SHARD_HOMES} homes "
        f"per shard, tick {settings.TICK_SECONDS}s, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    conn = store.client()
    checkpoint_every = int(settings.SIM_CHECKPOINT_TICKS)
    for size_index, size in enumerate(sizes):
        have = Device.objects.count()
        if size > have:
            started = time.perf_counter()
            manage(
                env,
                "seed_farm",
                "--homes",
                str((size - have) // per_home),
                "--devices-per-home",
                str(per_home),
            )
            seeded_s = time.perf_counter() - started
        else:
            seeded_s = 0.0
        devices = Device.objects.count()
        conn.flushdb()
        print(f"\n{devices:,} devices (seeded in {seeded_s:.1f}s)", flush=True)
        warm: dict[str, list[float]] = {"off": [], "on": []}
        cold: dict[str, list[float]] = {"off": [], "on": []}
        ledger_share: list[float] = []
        memory_per_device = 0.0
        for pass_index in range(args.passes):
            for mode in ("off", "on"):
                worker = start_worker(env, args.concurrency, apps[mode])
                try:
                    time.sleep(3)  # let the worker connect
                    for tick in range(args.ticks):
                        # Each pass starts on a checkpoint tick, so its cold tick checkpoints
                        # and its warm ticks (fewer than SIM_CHECKPOINT_TICKS) never do.
                        first = (2 * pass_index + (mode == "on")) * checkpoint_every
                        tick_at = START + timedelta(hours=size_index, minutes=first + tick)
                        memory_before = int(conn.info("memory")["used_memory"])
                        timing = run_tick(tick_at)
                        if pass_index == 0 and mode == "off" and tick == 0:
                            memory_after = int(conn.info("memory")["used_memory"])
                            memory_per_device = (memory_after - memory_before) / devices
                        label = "cold" if tick == 0 else "warm"
                        (warm if tick else cold)[mode].append(timing["wall_s"])
                        if tick and mode == "on":
                            ledger_share.append(timing.get("ledger_s", 0) / timing["wall_s"])
                        print(
                            f"  ledger {mode} pass {pass_index + 1} tick {tick + 1} ({label}): "
                            f"wall {timing['wall_s']:.2f}s, "
                            f"{devices / timing['wall_s']:,.0f} devices/s | summed over shards: "
                            f"load {timing.get('load_s', 0):.2f}s, "
                            f"physics {timing.get('physics_s', 0):.2f}s "
                            f"(ledger {timing.get('ledger_s', 0):.3f}s), "
                            f"redis write {timing.get('write_s', 0):.2f}s, "
                            f"checkpoint {timing.get('checkpoint_s', 0):.2f}s | "
                            f"finalize {timing.get('finalize_s', 0):.2f}s | "
                            f"load average {os.getloadavg()[0]:.2f}",
                            flush=True,
                        )
                finally:
                    stop_process(worker, timeout_s=30)
        print(
            f"  redis memory: {memory_per_device:.0f} bytes/device "
            f"(used_memory delta over the first tick, {conn.dbsize():,} keys)",
            flush=True,
        )
        if warm["off"] and warm["on"]:
            off, on = statistics.median(warm["off"]), statistics.median(warm["on"])
            print(
                f"  median warm tick: ledger off {off:.2f}s, on {on:.2f}s, "
                f"ratio {on / off:.3f} | the ledger's own seconds (signals + step, summed over "
                f"shards): median {100 * statistics.median(ledger_share):.1f} % of the warm tick",
                flush=True,
            )
            off, on = statistics.median(cold["off"]), statistics.median(cold["on"])
            print(
                f"  median cold (checkpoint) tick: ledger off {off:.2f}s, on {on:.2f}s, "
                f"ratio {on / off:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
