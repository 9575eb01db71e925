"""A tick of the farm: plan the shards, step each shard, finalize (totals, history, publish).

The Celery tasks in :mod:`simulators.tasks` are thin adapters over these functions: beat's task
claims the tick (:func:`tick_claim`) and starts one ``simulate_shard`` per shard in a chord
whose callback is ``finalize_tick``. The data flow is drawn in docs/architecture.md.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q

from devices.live import channels, store, ticks
from devices.models import Home, HomeEnergyHistory
from monitoring import metrics
from simulators.farm import ledger, phases, plans
from simulators.farm.clock import tick_align, tick_seconds, valid_until
from simulators.farm.load import LateShard, population_with_meters, shard_load, storage_state
from simulators.farm.write import (
    _COL,
    RESULT_COLUMNS,
    current_values,
    home_rows,
    home_values,
    levels_checkpoint,
    stats_value,
    storage_values,
)
from simulators.physics.home import home_balance
from simulators.physics.tick import population_tick

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_SHARD_ATTEMPTS = 3
#: How often a shard reloads its parameters when on-demand steps keep moving them.
MAX_PARAMETER_RELOADS = 3


def shard_of(home_id: int) -> int:
    """The first home id of the shard holding ``home_id`` (shards are fixed ranges of ids)."""
    size = int(settings.SIM_SHARD_HOMES)
    return home_id - home_id % size


def shards_plan(home_ids: Sequence[int], shard_homes: int) -> list[tuple[int, int]]:
    """Half-open home id ranges ``[k * shard_homes, (k + 1) * shard_homes)`` holding homes."""
    starts = sorted({int(home_id) - int(home_id) % shard_homes for home_id in home_ids})
    return [(start, start + shard_homes) for start in starts]


@dataclass(frozen=True)
class TickPlan:
    tick_at: datetime
    started_at: float
    shards: list[tuple[int, int]]


def tick_claim(*, tick_at: datetime | None = None) -> TickPlan | str:
    """Claim the tick containing ``tick_at`` (default: now) and plan its shards; or say why not:
    ``duplicate`` (claimed before), ``skipped`` (the previous tick still runs) or ``empty``."""
    tick = tick_align(tick_at or datetime.now(UTC))
    tick_s = int(tick.timestamp())
    outcome = ticks.tick_claim(tick_s, period_s=tick_seconds())
    metrics.tick_counted(outcome)
    if outcome == "duplicate":
        logger.debug("farm: tick %s already claimed", tick.isoformat())
        return outcome
    if outcome == "skipped":
        logger.warning(
            "farm: tick %s skipped: the previous tick is still running (%s skipped so far)",
            tick.isoformat(),
            ticks.ticks_skipped(),
        )
        return outcome
    try:
        home_ids = list(Home.objects.order_by("id").values_list("id", flat=True))
    except DatabaseError:
        # PostgreSQL is away: give the tick back rather than hold the running flag until it
        # expires (every tick until then would be skipped); beat's next firing claims again.
        ticks.tick_give_back(tick_s)
        metrics.tick_counted("unplanned")
        raise
    if not home_ids:
        ticks.running_release()
        metrics.tick_counted("empty")
        return "empty"
    shards = shards_plan(home_ids, int(settings.SIM_SHARD_HOMES))
    return TickPlan(tick_at=tick, started_at=time.time(), shards=shards)


def tick_abandon(plan: TickPlan) -> None:
    """The tick could not start (the broker refused it): let the next tick start."""
    ticks.running_release()


def tick_retry_in_s(*, tick_at: datetime, retries: int, now_s: float | None = None) -> float | None:
    """When to try a tick's shard or finalize again after PostgreSQL failed it (``retries``
    tries so far), or None: too late, give up.

    0.5 s, doubling up to a tick, while the retry still lands within 4 ticks of the tick's
    start. The tick's running flag lives 5 ticks, so the next tick never starts before this
    one's last try, and a late finalize never overwrites a newer tick's totals.
    """
    period = tick_seconds()
    delay = min(0.5 * 2**retries, float(period))
    now_s = time.time() if now_s is None else now_s
    if now_s + delay > tick_at.timestamp() + 4 * period:
        return None
    return delay


def tick_release(*, tick_at: datetime) -> None:
    """Finalize of ``tick_at`` gave up: let the next tick start (the tick's homes read stale)."""
    ticks.running_release(int(tick_at.timestamp()))


def shard_simulate(*, tick_at: datetime, home_id_from: int, home_id_to: int) -> str | None:
    """Step every simulated device of homes [from, to) for the tick; return the result handle,
    or None when the shard gives up (its homes read stale and finalize reports them)."""
    tick_s = int(tick_at.timestamp())
    period = tick_seconds()
    conn = store.client()
    attempts = ticks.shard_attempt(tick_s, home_id_from, expire_s=10 * period, conn=conn)
    if attempts > MAX_SHARD_ATTEMPTS:
        logger.error(
            "farm: shard %s-%s of %s given up after %s attempts",
            home_id_from,
            home_id_to,
            tick_at.isoformat(),
            attempts - 1,
        )
        return None
    until = valid_until(tick_s)
    for _ in range(MAX_PARAMETER_RELOADS):
        t0 = time.perf_counter()
        version = ticks.params_version(home_id_from, conn)
        data = shard_load(home_id_from, home_id_to)
        try:
            levels, books = storage_state(data, conn, tick_s=tick_s)
        except LateShard:
            logger.warning(
                "farm: shard %s-%s of %s arrived after a later tick; nothing written",
                home_id_from,
                home_id_to,
                tick_at.isoformat(),
            )
            return None
        population = population_with_meters(data, conn, now_s=float(tick_s))
        shard_plans = plans.shard_plans(data)
        phases.reached("load", tick_s=tick_s, home_id_from=home_id_from)
        t1 = time.perf_counter()
        signals = ledger.shard_signals(data, tick_at)
        population = ledger.population_with_weather(population, signals)
        t_signals = time.perf_counter() - t1
        interval = plans.interval_index(shard_plans, tick_s)
        dispatch = plans.dispatch_at(data, shard_plans, interval)
        seed = int(settings.SIM_SEED)
        result = population_tick(
            population, levels, tick_at=tick_at, dt_s=float(period), seed=seed, dispatch=dispatch
        )
        t_ledger = time.perf_counter()
        booked = ledger.shard_ledger(data, result, levels, books, signals, dt_s=float(period))
        ledger_s = t_signals + time.perf_counter() - t_ledger
        try:
            twin = plans.twin_step(
                shard_plans, population, signals, conn, tick_at=tick_at, dt_s=float(period),
                seed=seed,
            )  # fmt: skip
        except LateShard:
            return None  # the shard itself found its levels current: only a race gets here
        planner = plans.planner_columns(shard_plans, interval, population, result, twin)
        rows = home_rows(data, result, signals, booked, dt_s=float(period), planner=planner)
        phases.reached("physics", tick_s=tick_s, home_id_from=home_id_from)
        t2 = time.perf_counter()
        values = current_values(data, result, ts=tick_s, until=until)
        values += storage_values(
            data, result, levels, books=booked.books, prev_books=books, ts=tick_s, until=until
        )
        values += home_values(rows, ts=tick_s, until=until)
        handles = [*data.current_keys, *data.storage_keys, *data.home_keys]
        if twin is not None and shard_plans.twin is not None:
            values += storage_values(
                shard_plans.twin, twin.result, twin.levels, books=twin.booked.books,
                prev_books=twin.books, ts=tick_s, until=until,
            )  # fmt: skip
            handles += shard_plans.twin.storage_keys
        if ticks.shard_write(home_id_from, version, handles, values, expire_s=store.ttl_s()):
            break
        logger.info("farm: shard %s-%s: parameters changed meanwhile; reloading", home_id_from,
                    home_id_to)  # fmt: skip
    else:
        logger.error("farm: shard %s-%s of %s: parameters kept changing; given up",
                     home_id_from, home_id_to, tick_at.isoformat())  # fmt: skip
        return None
    if dispatch is not None:
        plans.decisions_record(data, shard_plans, interval, dispatch)
    phases.reached("write", tick_s=tick_s, home_id_from=home_id_from)
    handle = ticks.shard_result_put(
        tick_s, home_id_from, rows.astype(np.float64).tobytes(), expire_s=10 * period, conn=conn
    )
    t3 = time.perf_counter()
    if (tick_s // period) % int(settings.SIM_CHECKPOINT_TICKS) == 0:
        levels_checkpoint(data, result, booked.books, tick_at=tick_at)
    phases.reached("checkpoint", tick_s=tick_s, home_id_from=home_id_from)
    t4 = time.perf_counter()
    seconds = {"load": t1 - t0, "physics": t2 - t1, "write": t3 - t2, "checkpoint": t4 - t3}
    devices = int(data.device_ids.shape[0])
    ticks.timing_record(
        tick_s,
        add={**{f"{phase}_s": value for phase, value in seconds.items()}, "ledger_s": ledger_s},
        count={"devices": devices},
        conn=conn,
    )
    metrics.shard_timed(seconds=seconds, devices=devices)
    return handle


def _user_rows(rows: FloatArray) -> tuple[IntArray, FloatArray]:
    owners, inverse = np.unique(rows[:, _COL["owner_id"]].astype(np.int64), return_inverse=True)
    totals = np.zeros((owners.shape[0], rows.shape[1]))
    for name in (
        "production_w",
        "consumption_w",
        "storage_flow_w",
        "storage_level_wh",
        "storage_capacity_wh",
        "charge_w",
        "discharge_w",
        "cost_rate_per_hour",
        "carbon_rate_g_per_hour",
        "cost",
        "revenue",
        "carbon_g",
        "carbon_avoided_g",
    ):
        i = _COL[name]
        totals[:, i] = np.bincount(inverse, weights=rows[:, i], minlength=owners.shape[0])
    # A user's homes may have different tariffs and regions: their signals are averaged.
    homes = np.bincount(inverse, minlength=owners.shape[0])
    for name in ("import_price_per_kwh", "export_price_per_kwh", "carbon_intensity"):
        i = _COL[name]
        summed = np.bincount(inverse, weights=rows[:, i], minlength=owners.shape[0])
        totals[:, i] = summed / np.maximum(homes, 1)
    balance = home_balance(
        production_w=totals[:, _COL["production_w"]],
        consumption_w=totals[:, _COL["consumption_w"]],
        storage_flow_w=totals[:, _COL["storage_flow_w"]],
        charging_w=totals[:, _COL["charge_w"]],
    )
    totals[:, _COL["net_grid_flow_w"]] = balance.net_grid_flow_w
    totals[:, _COL["self_sufficiency"]] = balance.self_sufficiency
    return owners, totals


def history_rows(rows: FloatArray, *, tick_at: datetime, dt_s: float) -> list[HomeEnergyHistory]:
    """One history row per home: energies over the tick. [Wh]"""
    to_wh = dt_s / 3600.0
    net = rows[:, _COL["net_grid_flow_w"]]
    energies = (
        np.column_stack(
            [
                rows[:, _COL["production_w"]],
                rows[:, _COL["consumption_w"]],
                np.maximum(net, 0.0),
                np.maximum(-net, 0.0),
                rows[:, _COL["charge_w"]],
                rows[:, _COL["discharge_w"]],
            ]
        )
        * to_wh
    )
    money = rows[:, [_COL[name] for name in ("cost", "revenue", "carbon_g", "carbon_avoided_g")]]
    base_load_wh = rows[:, _COL["base_load_w"]] * to_wh
    # The planner's figures: None (NULL) where the home had no goal or followed no plan.
    planned = [
        [None if math.isnan(v) else v for v in row]
        for row in rows[:, [_COL[name] for name in _PLANNED_HISTORY]].tolist()
    ]
    return [
        HomeEnergyHistory(
            home_id=home_id,
            tick_at=tick_at,
            production_wh=e[0],
            consumption_wh=e[1],
            import_wh=e[2],
            export_wh=e[3],
            charge_wh=e[4],
            discharge_wh=e[5],
            cost=m[0],
            revenue=m[1],
            carbon_g=m[2],
            carbon_avoided_g=m[3],
            base_load_wh=b,
            **dict(zip(_PLANNED_FIELDS, p, strict=True)),
        )
        for home_id, e, m, b, p in zip(
            rows[:, _COL["home_id"]].astype(np.int64).tolist(),
            energies.tolist(),
            money.tolist(),
            base_load_wh.tolist(),
            planned,
            strict=True,
        )
    ]


#: Result columns of the planner's history fields, and the fields (same order).
_PLANNED_HISTORY = (
    "baseline_cost", "baseline_revenue", "baseline_carbon_g", "solar_forecast_w", "solar_w",
    "base_load_forecast_w", "base_load_actual_w",
)  # fmt: skip
_PLANNED_FIELDS = (
    "baseline_cost", "baseline_revenue", "baseline_carbon_g", "solar_forecast_w", "solar_w",
    "base_load_forecast_w", "base_load_w",
)  # fmt: skip


def _owners_of(shards: Sequence[tuple[int, int]]) -> set[int]:
    if not shards:
        return set()
    where = Q()
    for first, last in shards:
        where |= Q(id__gte=first, id__lt=last)
    return set(Home.objects.filter(where).values_list("owner_id", flat=True))


def tick_finalize(
    *,
    result_keys: Sequence[str | None],
    tick_at: datetime,
    shards: Sequence[Sequence[int]] | None = None,
    started_at: float | None = None,
) -> int:
    """Total per user, record history once, publish; returns the number of homes recorded.

    A shard without a result leaves its homes stale (their values were not written) and makes
    their owners' totals ``partial``: written and published as such, stale at once, so no one
    reads a sum of the homes that happened to succeed as the user's current total.
    """
    t0 = time.perf_counter()
    tick_s = int(tick_at.timestamp())
    conn = store.client()
    handles = [key for key in result_keys if key]
    found = ticks.shard_results(handles, conn=conn)
    blob_of = dict(zip(handles, found, strict=True))
    failed: list[tuple[int, int]] = []
    if shards is not None:
        failed = [
            (int(shard[0]), int(shard[1]))
            for shard, key in zip(shards, result_keys, strict=True)
            if not key or not blob_of.get(key)
        ]
    missing = len(result_keys) - sum(1 for blob in found if blob)
    if missing:
        total = ticks.shards_failed_add(missing, conn=conn)
        logger.error(
            "farm: tick %s finalized without %s of %s shards (homes %s read stale; %s failed "
            "shards so far)",
            tick_at.isoformat(),
            missing,
            len(result_keys),
            ", ".join(f"{a}-{b - 1}" for a, b in failed) or "unknown",
            total,
        )
    blobs = [blob for blob in found if blob]
    width = len(RESULT_COLUMNS)
    rows = (
        np.concatenate([np.frombuffer(blob, dtype=np.float64).reshape(-1, width) for blob in blobs])
        if blobs
        else np.empty((0, width))
    )
    partial_owners = _owners_of(failed)
    owners, user_totals = _user_rows(rows)
    until = valid_until(tick_s)
    user_values: dict[int, dict[str, object]] = {}
    for owner, row in zip(owners.tolist(), user_totals.tolist(), strict=True):
        partial = owner in partial_owners
        user_values[owner] = stats_value(
            row, ts=tick_s, until=tick_s if partial else until, partial=partial
        )
    for owner in partial_owners - set(user_values):
        user_values[owner] = {"ts": tick_s, "until": tick_s, "partial": True}
    messages = [
        (channels.home_channel(int(row[0])), stats_value(row, ts=tick_s, until=until))
        for row in rows.tolist()
    ]
    messages += [(channels.user_channel(owner), value) for owner, value in user_values.items()]
    store.user_stats_write(user_values.items(), conn=conn)
    HomeEnergyHistory.objects.bulk_create(
        history_rows(rows, tick_at=tick_at, dt_s=float(tick_seconds())),
        batch_size=5000,
        ignore_conflicts=True,
    )
    store.publish_many(messages, conn=conn)
    put = {"finished_at": time.time()}
    if started_at is not None:
        put["wall_s"] = time.time() - started_at
    finalize_s = time.perf_counter() - t0
    ticks.timing_record(tick_s, add={"finalize_s": finalize_s}, put=put, conn=conn)
    ticks.tick_finalized(tick_s, conn=conn)
    ticks.running_release(tick_s, conn=conn)
    metrics.tick_finalized(
        tick_s=tick_s, finalize_s=finalize_s, tick_seconds=put.get("wall_s"), shards_failed=missing
    )
    return int(rows.shape[0])
