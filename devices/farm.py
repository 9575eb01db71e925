"""The simulation farm: load a shard of homes, step it with the physics, write live state.

The Celery tasks in :mod:`devices.farm_tasks` are thin adapters over the functions here:

* :func:`tick_run` (beat, every tick) aligns the tick, takes the once-per-tick lock, skips the
  tick if the previous one is still running, splits the homes into shards and starts a chord.
* :func:`shard_simulate` steps every simulated device of a range of homes in one vectorised
  call (``simulators.tick.population_tick``) and writes the live keys in Lua batches.
* :func:`tick_finalize` totals per user, records history (idempotently) and publishes.
* :func:`device_simulate` steps one device's home on demand.

Parameters are loaded with one query per device kind and cached per process, keyed by a
token (device and home counts and latest ``updated_at`` of the shard) that any device or
home change moves. Storage levels come from Redis, or after a flush from the PostgreSQL
checkpoint written every ``SIM_CHECKPOINT_TICKS`` ticks.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from celery import chord
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, QuerySet

from devices import state
from devices.models import (
    AirConditioner,
    Battery,
    Device,
    DeviceKind,
    DeviceSource,
    DeviceStatus,
    ElectricVehicle,
    Generator,
    Heater,
    Home,
    HomeEnergyHistory,
    SolarPanel,
)
from simulators.ev import ev_mode_codes
from simulators.home import home_balance
from simulators.tick import (
    Batteries,
    ElectricVehicles,
    Generators,
    Homes,
    Population,
    SolarPanels,
    StorageLevels,
    Thermostats,
    TickResult,
    population_tick,
)

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EV_CHARGE_EFFICIENCY = 0.9
BATTERY_INITIAL_SOC = 0.5
MAX_SHARD_ATTEMPTS = 3
TEST_KILL_ENV = "GRIDTWIN_FARM_TEST_KILL"
# Columns of a shard's per-home result (float64 rows) handed to finalize through Redis.
RESULT_COLUMNS = (
    "home_id",
    "owner_id",
    "production_w",
    "consumption_w",
    "storage_flow_w",
    "net_grid_flow_w",
    "self_sufficiency",
    "storage_level_wh",
    "storage_capacity_wh",
    "charge_w",
    "discharge_w",
)
_COL = {name: index for index, name in enumerate(RESULT_COLUMNS)}


def tick_seconds() -> int:
    return int(settings.TICK_SECONDS)


def tick_align(at: datetime) -> datetime:
    """The start of the tick interval containing ``at`` (aware UTC)."""
    seconds = int(at.timestamp())
    return datetime.fromtimestamp(seconds - seconds % tick_seconds(), tz=UTC)


# --- Loading -------------------------------------------------------------------------------


@dataclass
class ShardData:
    """A shard's parameters as arrays (cached per process) and its precomputed key names."""

    token: tuple[Any, ...]
    home_ids: IntArray
    owner_ids: IntArray
    population: Population
    device_ids: IntArray  # all simulated devices, in the order solar, generators, batteries,
    # vehicles, heaters, air conditioners (the order of TickResult's arrays)
    current_keys: list[bytes]
    storage_keys: list[bytes]  # batteries then vehicles
    home_keys: list[bytes]
    ev_target_soc: FloatArray
    # Physical meters: their live power is the home's measured load (see measured_load_w).
    meter_home_index: IntArray
    meter_keys: list[bytes]

    @property
    def storage_ids(self) -> IntArray:
        pop = self.population
        return np.concatenate([pop.batteries.device_id, pop.vehicles.device_id])


_CACHE: dict[tuple[int, int], ShardData] = {}
_CACHE_MAX = 256


def _simulated(qs: QuerySet[Any], home_id_from: int, home_id_to: int) -> QuerySet[Any]:
    return qs.filter(
        home_id__gte=home_id_from,
        home_id__lt=home_id_to,
        source=DeviceSource.SIMULATED,
        status=DeviceStatus.ONLINE,
    ).order_by("pk")


def _rows(qs: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """Run a ``values_list`` query straight on the cursor: no per-row ORM work."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _numeric(rows: list[tuple[Any, ...]], width: int) -> FloatArray:
    if not rows:
        return np.empty((0, width))
    return np.array(rows, dtype=np.float64).reshape(len(rows), width)


def _shard_token(home_id_from: int, home_id_to: int) -> tuple[Any, ...]:
    devices = Device.objects.filter(home_id__gte=home_id_from, home_id__lt=home_id_to).aggregate(
        n=Count("id"), at=Max("updated_at")
    )
    homes = Home.objects.filter(id__gte=home_id_from, id__lt=home_id_to).aggregate(
        n=Count("id"), at=Max("updated_at")
    )
    return (devices["n"], devices["at"], homes["n"], homes["at"])


def _seconds_of_day(values: Sequence[Any]) -> FloatArray:
    return np.array(
        [t.hour * 3600 + t.minute * 60 + t.second for t in values], dtype=np.float64
    ).reshape(-1)


def shard_load(home_id_from: int, home_id_to: int, *, use_cache: bool = True) -> ShardData:
    """The shard's parameters: from the process cache when its token still matches."""
    token = _shard_token(home_id_from, home_id_to)
    cached = _CACHE.get((home_id_from, home_id_to)) if use_cache else None
    if cached is not None and cached.token == token:
        return cached
    data = _shard_load(home_id_from, home_id_to, token)
    if use_cache:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[(home_id_from, home_id_to)] = data
    return data


def _shard_load(home_id_from: int, home_id_to: int, token: tuple[Any, ...]) -> ShardData:
    homes_rows = _rows(
        Home.objects.filter(id__gte=home_id_from, id__lt=home_id_to)
        .order_by("id")
        .values_list("id", "owner_id", "latitude", "longitude", "base_load_w", "timezone")
    )
    home_numbers = _numeric([row[:5] for row in homes_rows], 5)
    home_ids = home_numbers[:, 0].astype(np.int64)
    names, zone_index = np.unique(
        np.array([row[5] for row in homes_rows], dtype=str), return_inverse=True
    )
    homes = Homes(
        latitude_deg=np.ascontiguousarray(home_numbers[:, 2]),
        longitude_deg=np.ascontiguousarray(home_numbers[:, 3]),
        timezone_index=zone_index.astype(np.int64).ravel(),
        base_load_w=np.ascontiguousarray(home_numbers[:, 4]),
        timezones=tuple(str(name) for name in names),
    )

    def index(rows: FloatArray) -> tuple[IntArray, IntArray]:
        ids = rows[:, 0].astype(np.int64)
        return ids, np.searchsorted(home_ids, rows[:, 1].astype(np.int64)).astype(np.int64)

    def col(rows: FloatArray, i: int) -> FloatArray:
        return np.ascontiguousarray(rows[:, i])

    solar_rows = _numeric(
        _rows(
            _simulated(SolarPanel.objects.all(), home_id_from, home_id_to).values_list(
                "pk",
                "home_id",
                "panel_area_m2",
                "efficiency",
                "rated_power_w",
                "tilt_deg",
                "azimuth_deg",
            )
        ),
        7,
    )
    solar = SolarPanels(*index(solar_rows), *(col(solar_rows, i) for i in range(2, 7)))
    generator_rows = _numeric(
        _rows(
            _simulated(Generator.objects.all(), home_id_from, home_id_to).values_list(
                "pk", "home_id", "rated_power_w", "running"
            )
        ),
        4,
    )
    generators = Generators(
        *index(generator_rows), col(generator_rows, 2), generator_rows[:, 3] > 0.5
    )
    battery_rows = _numeric(
        _rows(
            _simulated(Battery.objects.all(), home_id_from, home_id_to).values_list(
                "pk",
                "home_id",
                "capacity_wh",
                "max_charge_w",
                "max_discharge_w",
                "round_trip_efficiency",
                "min_soc",
            )
        ),
        7,
    )
    batteries = Batteries(*index(battery_rows), *(col(battery_rows, i) for i in range(2, 7)))
    ev_raw = _rows(
        _simulated(ElectricVehicle.objects.all(), home_id_from, home_id_to).values_list(
            "pk",
            "home_id",
            "battery_capacity_wh",
            "max_charge_w",
            "max_discharge_w",
            "target_soc",
            "reserve_soc",
            "driving_wh_per_hour",
            "away_days",
            "departure_time",
            "arrival_time",
            "mode",
        )
    )
    ev_rows = _numeric([row[:9] for row in ev_raw], 9)
    ev_count = len(ev_raw)
    vehicles = ElectricVehicles(
        *index(ev_rows),
        battery_capacity_wh=col(ev_rows, 2),
        max_charge_w=col(ev_rows, 3),
        max_discharge_w=col(ev_rows, 4),
        charge_efficiency=np.full(ev_count, EV_CHARGE_EFFICIENCY),
        target_soc=col(ev_rows, 5),
        reserve_soc=col(ev_rows, 6),
        driving_wh_per_hour=col(ev_rows, 7),
        days_mask=ev_rows[:, 8].astype(np.int64),
        departure_s=_seconds_of_day([row[9] for row in ev_raw]),
        arrival_s=_seconds_of_day([row[10] for row in ev_raw]),
        requested_mode=(
            ev_mode_codes([row[11] for row in ev_raw]).reshape(-1).astype(np.int8)
            if ev_count
            else np.empty(0, dtype=np.int8)
        ),
    )

    def thermostats(model: type[Heater] | type[AirConditioner]) -> Thermostats:
        rows = _numeric(
            _rows(
                _simulated(model.objects.all(), home_id_from, home_id_to).values_list(
                    "pk", "home_id", "rated_power_w", "setpoint_c"
                )
            ),
            4,
        )
        return Thermostats(
            *index(rows), col(rows, 2), col(rows, 3), np.ones(rows.shape[0], dtype=np.bool_)
        )

    population = Population(
        homes=homes,
        solar=solar,
        generators=generators,
        batteries=batteries,
        vehicles=vehicles,
        heaters=thermostats(Heater),
        air_conditioners=thermostats(AirConditioner),
    )
    device_ids = np.concatenate(
        [
            solar.device_id,
            generators.device_id,
            batteries.device_id,
            vehicles.device_id,
            population.heaters.device_id,
            population.air_conditioners.device_id,
        ]
    )
    storage_ids = np.concatenate([batteries.device_id, vehicles.device_id])
    meter_rows = _numeric(
        _rows(
            Device.objects.filter(
                home_id__gte=home_id_from,
                home_id__lt=home_id_to,
                source=DeviceSource.PHYSICAL,
                kind=DeviceKind.ENERGY_METER,
            )
            .order_by("pk")
            .values_list("pk", "home_id")
        ),
        2,
    )
    meter_ids, meter_home_index = index(meter_rows)
    return ShardData(
        token=token,
        home_ids=home_ids,
        owner_ids=home_numbers[:, 1].astype(np.int64),
        population=population,
        device_ids=device_ids,
        current_keys=[state.device_current_key(i).encode() for i in device_ids.tolist()],
        storage_keys=[state.device_storage_key(i).encode() for i in storage_ids.tolist()],
        home_keys=[state.home_stats_key(i).encode() for i in home_ids.tolist()],
        ev_target_soc=col(ev_rows, 5),
        meter_home_index=meter_home_index,
        meter_keys=[state.device_current_key(i).encode() for i in meter_ids.tolist()],
    )


def _checkpointed_levels(
    model: type[Battery] | type[ElectricVehicle], ids: IntArray
) -> dict[int, float]:
    if not ids.size:
        return {}
    levels: dict[int, float] = {}
    id_list = ids.tolist()
    for start in range(0, len(id_list), 10_000):
        rows = model.objects.filter(pk__in=id_list[start : start + 10_000], level_wh__isnull=False)
        levels.update(rows.values_list("pk", "level_wh"))  # type: ignore[arg-type]
    return levels


def measured_load_w(data: ShardData, conn: Any, *, now_s: float) -> FloatArray | None:
    """Per home, the summed power of its physical meters' fresh readings (stale ones count 0)."""
    if not data.meter_keys:
        return None
    power = np.zeros(len(data.meter_keys))
    for row, raw in enumerate(conn.mget(data.meter_keys)):
        value = state.decode(raw)
        if value is not None and not state.is_stale(value, now=now_s):
            power[row] = float(value.get("power_w") or 0.0)
    totals = np.bincount(data.meter_home_index, weights=power, minlength=data.home_ids.shape[0])
    return totals.astype(np.float64)


def population_with_meters(data: ShardData, conn: Any, *, now_s: float) -> Population:
    """The shard's population with its meters' measured load for this step."""
    measured = measured_load_w(data, conn, now_s=now_s)
    if measured is None:
        return data.population
    homes = replace(data.population.homes, measured_load_w=measured)
    return replace(data.population, homes=homes)


def storage_levels(data: ShardData, conn: Any) -> StorageLevels:
    """Levels (and vehicle modes) of the previous tick from Redis; misses from the checkpoint."""
    pop = data.population
    n_batteries = pop.batteries.device_id.shape[0]
    records, found = state.unpack_storages(
        conn.mget(data.storage_keys) if data.storage_keys else []
    )
    level = records["level_wh"].astype(np.float64)
    mode = records["mode"].astype(np.int8)
    if not found.all():
        battery_missing = pop.batteries.device_id[~found[:n_batteries]]
        ev_missing = pop.vehicles.device_id[~found[n_batteries:]]
        checkpoint = _checkpointed_levels(Battery, battery_missing)
        checkpoint.update(_checkpointed_levels(ElectricVehicle, ev_missing))
        capacity = np.concatenate([pop.batteries.capacity_wh, pop.vehicles.battery_capacity_wh])
        initial_soc = np.concatenate(
            [np.full(n_batteries, BATTERY_INITIAL_SOC), data.ev_target_soc]
        )
        ids = data.storage_ids
        for row in np.flatnonzero(~found).tolist():
            default = capacity[row] * initial_soc[row]
            level[row] = checkpoint.get(int(ids[row]), default)
            mode[row] = 0  # idle: "was home" for vehicles
    return StorageLevels(
        battery_level_wh=np.ascontiguousarray(level[:n_batteries]),
        ev_level_wh=np.ascontiguousarray(level[n_batteries:]),
        ev_mode=np.ascontiguousarray(mode[n_batteries:]),
    )


# --- Writing -------------------------------------------------------------------------------


def home_rows(data: ShardData, result: TickResult) -> FloatArray:
    """Per-home results (``RESULT_COLUMNS``) of a tick."""
    pop = data.population
    count = pop.homes.count
    totals = result.homes
    flows = np.concatenate([result.batteries.flow_w, result.vehicles.flow_w])
    homes_of_stores = np.concatenate([pop.batteries.home_index, pop.vehicles.home_index])
    charge = np.bincount(homes_of_stores, weights=np.maximum(flows, 0.0), minlength=count)
    discharge = np.bincount(homes_of_stores, weights=np.maximum(-flows, 0.0), minlength=count)
    return np.column_stack(
        [
            data.home_ids.astype(np.float64),
            data.owner_ids.astype(np.float64),
            totals.production_w,
            totals.consumption_w,
            totals.storage_flow_w,
            totals.net_grid_flow_w,
            totals.self_sufficiency,
            totals.storage_level_wh,
            totals.storage_capacity_wh,
            charge[:count],
            discharge[:count],
        ]
    )


def stats_value(row: Sequence[float], ts: int) -> dict[str, Any]:
    """A ``home:{id}:stats`` / ``user:{id}:energy_stats`` value from a result row."""
    # Milliwatt and milliwatt-hour resolution: enough, and it drops float summation noise.
    value: dict[str, Any] = {
        name: round(row[_COL[name]] + 0.0, 3) + 0.0
        for name in (
            "production_w",
            "consumption_w",
            "storage_flow_w",
            "net_grid_flow_w",
            "storage_level_wh",
            "storage_capacity_wh",
        )
    }
    value["self_sufficiency"] = round(row[_COL["self_sufficiency"]], 6)
    value["ts"] = ts
    return value


def state_write(
    data: ShardData, result: TickResult, rows: FloatArray, *, ts: int, conn: Any
) -> None:
    """Every device, storage and home key of the shard, with the TTL, in Lua batches."""
    pop = data.population
    no_mode = np.full
    modes = np.concatenate(
        [
            no_mode(pop.solar.device_id.shape[0] + pop.generators.device_id.shape[0], 255),
            result.batteries.mode.astype(np.int64),
            result.vehicles.mode.astype(np.int64),
            no_mode(pop.heaters.device_id.shape[0] + pop.air_conditioners.device_id.shape[0], 255),
        ]
    )
    power = np.concatenate(
        [
            result.solar_power_w,
            result.generator_power_w,
            result.batteries.flow_w,
            result.vehicles.flow_w,
            result.heater_power_w,
            result.air_conditioner_power_w,
        ]
    )
    values = state.pack_currents(power, ts=ts, mode=modes)
    values += state.pack_storages(
        capacity_wh=np.concatenate([pop.batteries.capacity_wh, pop.vehicles.battery_capacity_wh]),
        level_wh=np.concatenate([result.batteries.level_wh, result.vehicles.level_wh]),
        flow_w=np.concatenate([result.batteries.flow_w, result.vehicles.flow_w]),
        mode=np.concatenate([result.batteries.mode, result.vehicles.mode]),
        ts=ts,
    )
    values += [orjson.dumps(stats_value(row, ts)) for row in rows.tolist()]
    state.write_raw_many(
        [*data.current_keys, *data.storage_keys, *data.home_keys], values, conn=conn
    )


def levels_checkpoint(data: ShardData, result: TickResult, *, tick_at: datetime) -> None:
    """Save battery and vehicle levels to PostgreSQL (the restart point after a Redis loss)."""
    pop = data.population
    for model, ids, levels in (
        (Battery, pop.batteries.device_id, result.batteries.level_wh),
        (ElectricVehicle, pop.vehicles.device_id, result.vehicles.level_wh),
    ):
        if not ids.size:
            continue
        table = model._meta.db_table
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} AS t SET level_wh = v.level, level_at = %s "
                    "FROM unnest(%s::bigint[], %s::float8[]) AS v(id, level) "
                    "WHERE t.device_ptr_id = v.id",
                    [tick_at, ids.tolist(), levels.tolist()],
                )
        else:
            objs: list[Any] = [
                model(pk=pk, level_wh=level, level_at=tick_at)
                for pk, level in zip(ids.tolist(), levels.tolist(), strict=True)
            ]
            model.objects.bulk_update(objs, ["level_wh", "level_at"], batch_size=500)


# --- The tick ------------------------------------------------------------------------------


def shards_plan(home_ids: Sequence[int], shard_homes: int) -> list[tuple[int, int]]:
    """Half-open home id ranges of at most ``shard_homes`` homes each."""
    ranges = []
    for start in range(0, len(home_ids), shard_homes):
        chunk = home_ids[start : start + shard_homes]
        ranges.append((int(chunk[0]), int(chunk[-1]) + 1))
    return ranges


def tick_run(*, tick_at: datetime | None = None) -> str:
    """Start the tick containing ``tick_at`` (default: now) unless it ran or one still runs.

    Returns what happened: ``started``, ``duplicate``, ``skipped`` or ``empty``.
    """
    from devices.farm_tasks import finalize_tick_task, simulate_shard_task

    tick = tick_align(tick_at or datetime.now(UTC))
    tick_s = int(tick.timestamp())
    conn = state.client()
    period = tick_seconds()
    if not conn.set(state.farm_tick_lock_key(tick_s), 1, nx=True, ex=10 * period):
        logger.info("farm: tick %s already taken; duplicate beat ignored", tick.isoformat())
        return "duplicate"
    if not conn.set(state.farm_running_key(), tick_s, nx=True, ex=5 * period):
        skipped = conn.incr(state.farm_skipped_key())
        logger.warning(
            "farm: tick %s skipped: the previous tick is still running (%s skipped so far)",
            tick.isoformat(),
            skipped,
        )
        return "skipped"
    home_ids = list(Home.objects.order_by("id").values_list("id", flat=True))
    if not home_ids:
        conn.delete(state.farm_running_key())
        return "empty"
    started = time.time()
    header = [
        simulate_shard_task.s(tick_at=tick.isoformat(), home_id_from=first, home_id_to=last).set(
            queue="sim"
        )
        for first, last in shards_plan(home_ids, int(settings.SIM_SHARD_HOMES))
    ]
    body = finalize_tick_task.s(tick_at=tick.isoformat(), started_at=started).set(queue="default")
    try:
        chord(header)(body)
    except Exception:
        conn.delete(state.farm_running_key())  # nothing runs: let the next tick start
        raise
    return "started"


def _maybe_die_for_test(tick_s: int, conn: Any) -> None:
    # Crash-test hook: with the env flag set, the first shard to get here SIGKILLs its own
    # worker process once, mid-shard (after physics, before any write).
    if os.environ.get(TEST_KILL_ENV) and conn.set(state.farm_test_kill_key(), tick_s, nx=True):
        logger.warning("farm: test hook killing worker process %s mid-shard", os.getpid())
        # Give the pool's parent time to register the job as started: a child dying before
        # that is not reported as lost, and its message waits for the visibility timeout.
        time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGKILL)


def shard_simulate(*, tick_at: datetime, home_id_from: int, home_id_to: int) -> str | None:
    """Step every simulated device of homes [from, to) for the tick; return the result key."""
    tick_s = int(tick_at.timestamp())
    conn = state.client()
    attempts_key = state.farm_shard_attempts_key(tick_s, home_id_from)
    attempts = conn.incr(attempts_key)
    conn.expire(attempts_key, 10 * tick_seconds())
    if attempts > MAX_SHARD_ATTEMPTS:
        logger.error(
            "farm: shard %s-%s of %s given up after %s attempts",
            home_id_from,
            home_id_to,
            tick_at.isoformat(),
            attempts - 1,
        )
        return None
    t0 = time.perf_counter()
    data = shard_load(home_id_from, home_id_to)
    levels = storage_levels(data, conn)
    population = population_with_meters(data, conn, now_s=float(tick_s))
    t1 = time.perf_counter()
    result = population_tick(
        population,
        levels,
        tick_at=tick_at,
        dt_s=float(tick_seconds()),
        seed=int(settings.SIM_SEED),
    )
    rows = home_rows(data, result)
    t2 = time.perf_counter()
    _maybe_die_for_test(tick_s, conn)
    state_write(data, result, rows, ts=tick_s, conn=conn)
    result_key = state.farm_shard_key(tick_s, home_id_from)
    conn.set(result_key, rows.astype(np.float64).tobytes(), ex=10 * tick_seconds())
    t3 = time.perf_counter()
    if (tick_s // tick_seconds()) % int(settings.SIM_CHECKPOINT_TICKS) == 0:
        levels_checkpoint(data, result, tick_at=tick_at)
    t4 = time.perf_counter()
    with conn.pipeline(transaction=False) as pipe:
        timing = state.farm_timing_key(tick_s)
        pipe.hincrbyfloat(timing, "load_s", t1 - t0)
        pipe.hincrbyfloat(timing, "physics_s", t2 - t1)
        pipe.hincrbyfloat(timing, "write_s", t3 - t2)
        pipe.hincrbyfloat(timing, "checkpoint_s", t4 - t3)
        pipe.hincrby(timing, "devices", int(data.device_ids.shape[0]))
        pipe.expire(timing, 24 * 3600)
        pipe.execute()
    return result_key


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
    ):
        i = _COL[name]
        totals[:, i] = np.bincount(inverse, weights=rows[:, i], minlength=owners.shape[0])
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
        )
        for home_id, e in zip(
            rows[:, _COL["home_id"]].astype(np.int64).tolist(), energies.tolist(), strict=True
        )
    ]


def tick_finalize(
    *, result_keys: Sequence[str | None], tick_at: datetime, started_at: float | None = None
) -> int:
    """Total per user, record history once, publish; returns the number of homes recorded."""
    t0 = time.perf_counter()
    tick_s = int(tick_at.timestamp())
    conn = state.client()
    keys = [key for key in result_keys if key]
    if len(keys) < len(result_keys):
        logger.error(
            "farm: tick %s finalized without %s shards", tick_at, len(result_keys) - len(keys)
        )
    blobs = [blob for blob in (conn.mget(keys) if keys else []) if blob]
    width = len(RESULT_COLUMNS)
    rows = (
        np.concatenate([np.frombuffer(blob, dtype=np.float64).reshape(-1, width) for blob in blobs])
        if blobs
        else np.empty((0, width))
    )
    owners, user_totals = _user_rows(rows)
    user_values = [
        (state.user_stats_key(owner), stats_value(row, tick_s))
        for owner, row in zip(owners.tolist(), user_totals.tolist(), strict=True)
    ]
    messages: list[tuple[str, dict[str, Any]]] = [
        (state.home_channel(int(row[0])), stats_value(row, tick_s)) for row in rows.tolist()
    ]
    messages += [
        (state.user_channel(owner), value)
        for owner, (_, value) in zip(owners.tolist(), user_values, strict=True)
    ]
    state.write_many(user_values, conn=conn)
    HomeEnergyHistory.objects.bulk_create(
        history_rows(rows, tick_at=tick_at, dt_s=float(tick_seconds())),
        batch_size=5000,
        ignore_conflicts=True,
    )
    state.publish_many(messages, conn=conn)
    with conn.pipeline(transaction=False) as pipe:
        timing = state.farm_timing_key(tick_s)
        pipe.hincrbyfloat(timing, "finalize_s", time.perf_counter() - t0)
        pipe.hset(timing, "finished_at", time.time())
        if started_at is not None:
            pipe.hset(timing, "wall_s", time.time() - started_at)
        pipe.expire(timing, 24 * 3600)
        pipe.execute()
    if (conn.get(state.farm_running_key()) or b"").decode() == str(tick_s):
        conn.delete(state.farm_running_key())
    return int(rows.shape[0])


# --- On demand -----------------------------------------------------------------------------


def device_simulate(*, device_id: int, at: datetime | None = None) -> bool:
    """Step the home of one simulated device now, so its state shows at once; False if none.

    Levels move by one second's worth only: the regular tick stays the integrator.
    """
    found = (
        Device.objects.filter(
            pk=device_id, source=DeviceSource.SIMULATED, status=DeviceStatus.ONLINE
        )
        .values_list("home_id", flat=True)
        .first()
    )
    if found is None:
        return False
    at = at or datetime.now(UTC)
    conn = state.client()
    data = shard_load(found, found + 1, use_cache=False)
    result = population_tick(
        population_with_meters(data, conn, now_s=at.timestamp()),
        storage_levels(data, conn),
        tick_at=at,
        dt_s=1.0,
        seed=int(settings.SIM_SEED),
    )
    rows = home_rows(data, result)
    ts = int(at.timestamp())
    state_write(data, result, rows, ts=ts, conn=conn)
    messages: list[tuple[str, dict[str, Any]]] = [
        (state.home_channel(found), stats_value(row, ts)) for row in rows.tolist()
    ]
    current = state.read_many([state.device_current_key(device_id)], conn=conn)[0]
    if current is not None:
        messages.append((state.device_channel(device_id), current))
    state.publish_many(messages, conn=conn)
    return True


def tick_after(tick_at: datetime, ticks: int = 1) -> datetime:
    return tick_at + timedelta(seconds=ticks * tick_seconds())


# --- History -------------------------------------------------------------------------------

HISTORY_BUCKET_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
MAX_HISTORY_BUCKETS = 10_000
_HISTORY_FIELDS = (
    "production_wh",
    "consumption_wh",
    "import_wh",
    "export_wh",
    "charge_wh",
    "discharge_wh",
)


class HistoryRangeError(ValueError):
    """The asked range is empty, reversed, or spans too many buckets."""


def history_buckets(
    *, user_id: int, home_id: int | str, start: datetime, end: datetime, bucket: str
) -> list[dict[str, Any]] | None:
    """Energy of one of the user's homes per bucket in [start, end) [kWh]; None: no such home.

    Only buckets holding history appear, oldest first.
    """
    from django.db.models import Sum
    from django.db.models.functions import TruncDay, TruncHour, TruncMinute

    from devices import selectors

    if end <= start:
        raise HistoryRangeError("'to' must be after 'from'.")
    count = (end - start).total_seconds() / HISTORY_BUCKET_SECONDS[bucket]
    if count > MAX_HISTORY_BUCKETS:
        raise HistoryRangeError(
            f"The range spans {int(count)} {bucket} buckets; at most {MAX_HISTORY_BUCKETS} "
            "are allowed: narrow it or choose a larger bucket."
        )
    try:
        home = selectors.home_get(user_id=user_id, home_id=home_id)
    except Home.DoesNotExist:
        return None
    trunc = {"minute": TruncMinute, "hour": TruncHour, "day": TruncDay}[bucket]
    rows = (
        HomeEnergyHistory.objects.filter(home=home, tick_at__gte=start, tick_at__lt=end)
        .annotate(start=trunc("tick_at", tzinfo=UTC))
        .values("start")
        .annotate(**{name: Sum(name) for name in _HISTORY_FIELDS})
        .order_by("start")
    )
    return [
        {
            "start": row["start"],
            **{name.replace("_wh", "_kwh"): row[name] / 1000.0 for name in _HISTORY_FIELDS},
        }
        for row in rows
    ]
