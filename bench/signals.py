"""`make bench-signals`: ``grid.signals_for_homes`` for the farm's 1M-device population.

300,000 homes (``--homes``; the 1,000,000-device bench-farm at its default of ~3.3 devices
per home would be 300,000 homes) are seeded with ``seed_farm`` into their own database, one
device each; ``--tariff-share`` of them get a time-of-use tariff (one of a few shapes, as real
tariffs repeat). Then, in one process as a farm worker would:

- per shard: ``signals_for_homes`` over each ``SIM_SHARD_HOMES`` range of home ids: the first
  time in the process (each block's table of regions and tariffs loaded), at the next tick
  (cached), at the next signal interval (synthetic values computed again), and after one
  home's tariff changed (its block loaded again);
- all at once: one call with every home id (cold and warm).

Prints wall seconds per pass and per home, the distinct regions and tariffs, and the load.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import numpy as np

from bench.common import bench_env, fresh_database, manage

START = datetime(2026, 6, 22, 17, 5, tzinfo=UTC)  # a Monday evening: time-of-use peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=300_000)
    parser.add_argument("--tariff-share", type=float, default=0.1)
    parser.add_argument("--shard-homes", type=int, default=1000)
    args = parser.parse_args()

    own = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/") or "gridtwin"
    database_url = fresh_database(f"{own}_bench_signals")
    env = bench_env(database_url, SIM_SHARD_HOMES=str(args.shard_homes))
    manage(env, "migrate", "--noinput", "-v", "0")
    started = time.perf_counter()
    manage(env, "seed_farm", "--homes", str(args.homes), "--devices-per-home", "1")
    seeded_s = time.perf_counter() - started
    os.environ.update(env)
    import django

    django.setup()
    from devices.models import Home

    started = time.perf_counter()
    tariffs = _tariffs(Home, args.tariff_share)
    tariffs_s = time.perf_counter() - started
    from grid import selectors
    from grid.signals import signals_for_homes

    ids = np.fromiter(Home.objects.order_by("id").values_list("id", flat=True), dtype=np.int64)
    print(
        f"bench-signals: {ids.size:,} homes (seeded in {seeded_s:.1f}s), {tariffs:,} with a "
        f"time-of-use tariff ({tariffs_s:.1f}s), {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    shards = [ids[i : i + args.shard_homes] for i in range(0, ids.size, args.shard_homes)]

    def per_shard(at: datetime, label: str) -> None:
        began = time.perf_counter()
        for shard in shards:
            signals = signals_for_homes(shard, at)
        wall = time.perf_counter() - began
        assert np.isfinite(signals.import_price).all()
        print(
            f"  {label:<34} {wall:6.2f}s  {wall / ids.size * 1e6:6.2f} µs/home  "
            f"{wall / len(shards) * 1e3:6.2f} ms/shard",
            flush=True,
        )

    def at_once(at: datetime, label: str) -> None:
        began = time.perf_counter()
        signals = signals_for_homes(ids, at)
        wall = time.perf_counter() - began
        assert signals.import_price.shape == ids.shape
        print(f"  {label:<34} {wall:6.2f}s  {wall / ids.size * 1e6:6.2f} µs/home", flush=True)

    print(f"per shard of {args.shard_homes} homes ({len(shards)} shards):")
    per_shard(START, "first tick in the process (cold)")
    per_shard(START + timedelta(minutes=1), "next tick (cached)")
    per_shard(START + timedelta(minutes=30), "first tick of the next interval")
    from grid.models import Tariff

    changed = Tariff.objects.order_by("id").first()
    if changed is not None:
        changed.export_price_per_kwh = 0.05
        changed.save(update_fields=["export_price_per_kwh", "updated_at"])
    per_shard(START + timedelta(minutes=31), "next tick, after one tariff changed")
    print("all homes in one call:")
    at_once(START + timedelta(hours=1), "cold")
    at_once(START + timedelta(hours=1, minutes=1), "warm")
    table = selectors.home_grid_table(ids, START + timedelta(hours=1))
    print(
        f"distinct regions {len(table.regions):,}, distinct tariffs {len(table.tariffs):,}; "
        f"load {os.getloadavg()[0]:.2f}"
    )


def _tariffs(home_model: type, share: float) -> int:
    """Time-of-use tariffs for a share of the homes: a few shapes, as real tariffs repeat."""
    from datetime import time as clock

    from grid.models import Tariff, TariffPeriod

    rng = np.random.default_rng(11)
    ids = list(home_model.objects.values_list("id", flat=True))  # type: ignore[attr-defined]
    chosen = rng.choice(len(ids), size=int(len(ids) * share), replace=False)
    shapes = [(clock(h), 0.1 + 0.05 * k, 0.35 + 0.05 * k) for k, h in enumerate((16, 17, 18))]
    rows = Tariff.objects.bulk_create(
        [
            Tariff(home_id=ids[i], kind="time_of_use", currency="EUR", export_price_per_kwh=0.07)
            for i in chosen
        ],
        batch_size=5000,
    )
    periods = []
    for n, tariff in enumerate(rows):
        peak_start, cheap, peak = shapes[n % len(shapes)]
        periods += [
            TariffPeriod(tariff=tariff, days=127, start=clock(0), end=peak_start,
                         import_price_per_kwh=cheap),
            TariffPeriod(tariff=tariff, days=127, start=peak_start, end=clock(21),
                         import_price_per_kwh=peak),
            TariffPeriod(tariff=tariff, days=127, start=clock(21), end=clock(0),
                         import_price_per_kwh=cheap),
        ]  # fmt: skip
    TariffPeriod.objects.bulk_create(periods, batch_size=5000)
    return len(rows)


if __name__ == "__main__":
    main()
