"""The farm's side of the planner: a shard's plans as setpoints per tick, the greedy twins of
its planned homes, and the decision records of what was applied.

A home with an optimisation goal is stepped twice per tick: as itself, its simulated devices
following its current plan (``optimal`` plans only; a plan that fell back to the greedy rule is
the rule, which the physics follows anyway), and as its **twin**, the same devices under the
greedy rule, with the same weather, load and signals, from the twin's own storage levels
(``device:{id}:twin`` records, started from the devices' checkpoint). The difference between the
two ledgers is what the plans saved. Plans are read from PostgreSQL once per process and shard
until a plan or goal of the shard changes (the cache token). No per-device Python work per tick
but the decision records, written once per device and interval (and again when a new plan
changes the interval's action). The rules are in docs/architecture.md, "The planner".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from django.db import connection
from django.db.models import Count, Max, TextField
from django.db.models.functions import Cast

from devices.live import store
from grid.signals import TickSignals
from planner.decisions import action_names, expected_effect
from planner.models import Decision, DecisionSource, HomePlan, OptimizationGoal
from planner.outcome import STATUS_OPTIMAL
from planner.problem import INTERVAL_S
from simulators.farm.ledger import shard_ledger
from simulators.farm.load import ShardData, storage_state
from simulators.physics.home import sum_by_home
from simulators.physics.ledger import LedgerResult, StoreBook
from simulators.physics.tick import (
    Batteries,
    Dispatch,
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

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ShardPlans:
    """
    A shard's goals and plans as arrays.

    ``goal`` (H,) marks the homes with a goal (they have twins); ``following`` (H,) those with a
    plan the farm follows; per home ``start_s`` (the plan's first interval, Unix s) and the plan's
    forecasts and prices per interval (H, T); per device row of each kind (in the population's
    order) its setpoints (rows, T), NaN where none.
    """

    token: tuple[Any, ...]
    goal: npt.NDArray[np.bool_]
    following: npt.NDArray[np.bool_]
    start_s: FloatArray
    pv_w: FloatArray
    base_load_w: FloatArray
    import_price: FloatArray
    carbon_g_per_kwh: FloatArray
    setpoints: dict[str, FloatArray]
    objective: list[str]
    plan_hash: list[str]
    inputs_hash: list[str]
    twin: ShardData | None

    @property
    def intervals(self) -> int:
        return int(self.pv_w.shape[1])


_CACHE: dict[tuple[int, int], ShardPlans] = {}
_CACHE_MAX = 256


def _token(data: ShardData) -> tuple[Any, ...]:
    first, last = _range(data)
    plans = HomePlan.objects.filter(home_id__gte=first, home_id__lt=last).aggregate(
        n=Count("id"), at=Max("created_at")
    )
    goals = OptimizationGoal.objects.filter(home_id__gte=first, home_id__lt=last).aggregate(
        n=Count("id"), at=Max("updated_at")
    )
    return (data.token, plans["n"], plans["at"], goals["n"], goals["at"])


def _range(data: ShardData) -> tuple[int, int]:
    if not data.home_ids.size:
        return (0, 0)
    return int(data.home_ids[0]), int(data.home_ids[-1]) + 1


def shard_plans(data: ShardData) -> ShardPlans:
    """The shard's plans: from the process cache while no plan, goal or parameter changed."""
    token = _token(data)
    key = _range(data)
    cached = _CACHE.get(key)
    if cached is not None and cached.token == token:
        return cached
    plans = _load(data, token)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = plans
    return plans


def _series(values: list[float | None] | None, length: int) -> FloatArray:
    row = np.full(length, np.nan)
    if values:
        try:
            given = np.asarray(values[:length], dtype=np.float64)
        except TypeError:  # a None (a non-finite value the plan stored as null)
            given = np.array([np.nan if v is None else v for v in values[:length]], np.float64)
        row[: given.shape[0]] = given
    return row


def _device_rows(population: Population) -> dict[str, IntArray]:
    return {
        "battery": population.batteries.device_id,
        "electric_vehicle": population.vehicles.device_id,
        "heater": population.heaters.device_id,
        "air_conditioner": population.air_conditioners.device_id,
        "generator": population.generators.device_id,
    }


def _load(data: ShardData, token: tuple[Any, ...]) -> ShardPlans:
    first, last = _range(data)
    count = data.home_ids.shape[0]
    goal_ids = set(
        OptimizationGoal.objects.filter(home_id__gte=first, home_id__lt=last).values_list(
            "home_id", flat=True
        )
    )
    # The payloads as text, parsed with orjson: a fleet's plans are millions of numbers.
    stored = [
        (*row[:5], orjson.loads(row[5]))
        for row in HomePlan.objects.filter(home_id__in=goal_ids, status=STATUS_OPTIMAL)
        .annotate(text=Cast("payload", TextField()))
        .values_list("home_id", "starts_at", "objective", "plan_hash", "inputs_hash", "text")
    ]
    intervals = max((len(p[5]["intervals"]["pv_w"]) for p in stored), default=0)
    row_of = {int(home_id): row for row, home_id in enumerate(data.home_ids.tolist())}
    goal = np.zeros(count, dtype=np.bool_)
    goal[[row_of[h] for h in goal_ids if h in row_of]] = True
    following = np.zeros(count, dtype=np.bool_)
    start_s = np.full(count, np.nan)

    def grid() -> FloatArray:
        return np.full((count, intervals), np.nan)

    pv, load, price, carbon = grid(), grid(), grid(), grid()
    rows = _device_rows(data.population)
    device_row = {
        kind: {int(d): r for r, d in enumerate(ids.tolist())} for kind, ids in rows.items()
    }
    setpoints = {kind: np.full((ids.shape[0], intervals), np.nan) for kind, ids in rows.items()}
    objective, plan_hash, inputs_hash = [""] * count, [""] * count, [""] * count
    for home_id, starts_at, obj, p_hash, i_hash, payload in stored:
        row = row_of.get(int(home_id))
        if row is None:
            continue
        following[row] = True
        start_s[row] = starts_at.timestamp()
        series = payload["intervals"]
        pv[row] = _series(series.get("pv_w"), intervals)
        load[row] = _series(series.get("base_load_w"), intervals)
        price[row] = _series(series.get("import_price_per_kwh"), intervals)
        carbon[row] = _series(series.get("carbon_g_per_kwh"), intervals)
        objective[row], plan_hash[row], inputs_hash[row] = obj, p_hash, i_hash
        for device in payload["devices"]:
            kind = device["kind"]
            at = device_row.get(kind, {}).get(int(device["device_id"]))
            if at is not None:
                setpoints[kind][at] = _series(device["power_w"], intervals)
    return ShardPlans(
        token=token,
        goal=goal,
        following=following,
        start_s=start_s,
        pv_w=pv,
        base_load_w=load,
        import_price=price,
        carbon_g_per_kwh=carbon,
        setpoints=setpoints,
        objective=objective,
        plan_hash=plan_hash,
        inputs_hash=inputs_hash,
        twin=twin_shard(data, goal) if goal.any() else None,
    )


def interval_index(plans: ShardPlans, tick_s: float) -> IntArray:
    """Per home, the plan's interval holding ``tick_s`` (-1 outside the plan, or no plan).

    The tick's value describes the step ending at ``tick_s``: it belongs to the interval that
    step lies in, so a tick at an interval's boundary is the end of the interval before it."""
    with np.errstate(invalid="ignore"):
        k = np.floor((tick_s - 1e-3 - plans.start_s) / INTERVAL_S)
    inside = np.isfinite(k) & (k >= 0) & (k < plans.intervals) & plans.following
    return np.where(inside, np.nan_to_num(k), -1).astype(np.int64)


def _at(values: FloatArray, k: IntArray) -> FloatArray:
    """``values[i, k[i]]`` per row, NaN where ``k`` is -1."""
    if not values.shape[0]:
        return np.empty(0)
    picked = values[np.arange(values.shape[0]), np.maximum(k, 0)] if values.shape[1] else (
        np.full(values.shape[0], np.nan)
    )  # fmt: skip
    return np.where(k >= 0, picked, np.nan)


def dispatch_at(data: ShardData, plans: ShardPlans, k: IntArray) -> Dispatch | None:
    """The setpoints of every device of the shard for the plans' intervals ``k`` (None when
    no home follows a plan now)."""
    if not (k >= 0).any():
        return None
    pop = data.population

    def of(kind: str, home_index: IntArray) -> FloatArray:
        return _at(plans.setpoints[kind], k[home_index])

    generator = of("generator", pop.generators.home_index)
    return Dispatch(
        battery_w=of("battery", pop.batteries.home_index),
        vehicle_w=of("electric_vehicle", pop.vehicles.home_index),
        heater_w=of("heater", pop.heaters.home_index),
        air_conditioner_w=of("air_conditioner", pop.air_conditioners.home_index),
        generator_on=np.where(np.isfinite(generator), generator > 0.5, np.nan),
    )


def forecasts_at(plans: ShardPlans, k: IntArray) -> tuple[FloatArray, FloatArray]:
    """Per home, the followed plan's solar and base-load forecast for this tick (NaN: none)."""
    return _at(plans.pv_w, k), _at(plans.base_load_w, k)


# The twin ----------------------------------------------------------------------------------


def _rows_of(home_index: IntArray, keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return keep[home_index] if home_index.size else np.zeros(0, dtype=np.bool_)


def _subset(bundle: Any, rows: npt.NDArray[np.bool_], new_index: IntArray) -> Any:
    """A device bundle's rows ``rows``, re-indexed to the twin's homes."""
    values = {}
    for name in bundle.__dataclass_fields__:
        value = getattr(bundle, name)
        if name == "home_index":
            values[name] = new_index[value[rows]]
        elif isinstance(value, np.ndarray) and value.ndim == 1:
            values[name] = value[rows]
        else:
            values[name] = value
    return type(bundle)(**values)


def homes_subset(homes: Homes, keep: npt.NDArray[np.bool_]) -> Homes:
    """The rows ``keep`` of ``homes`` (weather and measured load included)."""
    values: dict[str, Any] = {}
    for name in homes.__dataclass_fields__:
        value = getattr(homes, name)
        values[name] = value[keep] if isinstance(value, np.ndarray) else value
    return Homes(**values)


def twin_shard(data: ShardData, keep: npt.NDArray[np.bool_]) -> ShardData:
    """The homes ``keep`` of the shard with their simulated devices, as a shard of its own
    whose stores keep their levels and books in the twins' records."""
    pop = data.population
    new_index = np.full(keep.shape[0], -1, dtype=np.int64)
    new_index[keep] = np.arange(int(keep.sum()))
    bundles: dict[str, Any] = {}
    for name, bundle in (
        ("solar", pop.solar), ("generators", pop.generators), ("batteries", pop.batteries),
        ("vehicles", pop.vehicles), ("heaters", pop.heaters),
        ("air_conditioners", pop.air_conditioners),
    ):  # fmt: skip
        bundles[name] = _subset(bundle, _rows_of(bundle.home_index, keep), new_index)
    population = Population(homes=homes_subset(pop.homes, keep), **bundles)
    batteries: Batteries = bundles["batteries"]
    vehicles: ElectricVehicles = bundles["vehicles"]
    ev_rows = _rows_of(pop.vehicles.home_index, keep)
    storage_ids = np.concatenate([batteries.device_id, vehicles.device_id])
    solar: SolarPanels = bundles["solar"]
    generators: Generators = bundles["generators"]
    heaters: Thermostats = bundles["heaters"]
    coolers: Thermostats = bundles["air_conditioners"]
    return ShardData(
        token=data.token,
        home_ids=data.home_ids[keep],
        owner_ids=data.owner_ids[keep],
        population=population,
        device_ids=np.concatenate(
            [
                solar.device_id,
                generators.device_id,
                batteries.device_id,
                vehicles.device_id,
                heaters.device_id,
                coolers.device_id,
            ]
        ),
        current_keys=[],
        storage_keys=store.twin_handles(storage_ids.tolist()),
        home_keys=[],
        ev_target_soc=data.ev_target_soc[ev_rows],
        meter_home_index=np.empty(0, dtype=np.int64),
        meter_keys=[],
    )


def twin_population(plans: ShardPlans, population: Population) -> Population:
    """The twins' population for this tick: the tick's weather and measured load."""
    assert plans.twin is not None
    return replace(plans.twin.population, homes=homes_subset(population.homes, plans.goal))


def twin_signals(plans: ShardPlans, signals: TickSignals) -> TickSignals:
    """The tick's signals of the twins' homes."""
    values = {}
    for name in signals.__dataclass_fields__:
        value = getattr(signals, name)
        is_per_home = isinstance(value, np.ndarray) and value.shape[:1] == plans.goal.shape
        values[name] = value[plans.goal] if is_per_home else value
    return type(signals)(**values)


# Decisions ---------------------------------------------------------------------------------

_RECORDED: dict[tuple[int, int], tuple[tuple[Any, ...], bytes]] = {}
"""Per shard, the plans (cache token) and intervals whose decisions this process recorded:
a tick in the same intervals of the same plans writes nothing, without a look at any device."""


def decisions_record(data: ShardData, plans: ShardPlans, k: IntArray, dispatch: Dispatch) -> int:
    """Record the action each followed device takes in its current interval, once per device,
    interval and plan (a new plan's action for the same interval replaces the record). Returns
    the number of records written."""
    shard = _range(data)
    seen = (plans.token, k.tobytes())
    if _RECORDED.get(shard) == seen:
        return 0
    pop = data.population
    powers: dict[str, tuple[Any, FloatArray]] = {
        "battery": (pop.batteries, dispatch.battery_w),
        "electric_vehicle": (pop.vehicles, dispatch.vehicle_w),
        "heater": (pop.heaters, dispatch.heater_w),
        "air_conditioner": (pop.air_conditioners, dispatch.air_conditioner_w),
        "generator": (
            pop.generators, _at(plans.setpoints["generator"], k[pop.generators.home_index])
        ),
    }  # fmt: skip
    price, carbon = _at(plans.import_price, k), _at(plans.carbon_g_per_kwh, k)
    columns: dict[str, list[Any]] = {name: [] for name in _DECISION_COLUMNS}
    for kind, (bundle, power) in powers.items():
        rows = np.flatnonzero(np.isfinite(power))
        if not rows.size:
            continue
        homes = bundle.home_index[rows]
        starts = (plans.start_s[homes] + k[homes] * INTERVAL_S).astype(np.int64)
        device_ids = bundle.device_id[rows]
        setpoint = power[rows]
        cost, grams = expected_effect(
            kind,
            setpoint,
            import_price_per_kwh=np.nan_to_num(price[homes]),
            carbon_g_per_kwh=np.nan_to_num(carbon[homes]),
            interval_s=INTERVAL_S,
        )
        columns["home_id"] += data.home_ids[homes].tolist()
        columns["device_id"] += device_ids.tolist()
        columns["interval_start"] += [datetime.fromtimestamp(t, tz=UTC) for t in starts.tolist()]
        columns["interval_end"] += [
            datetime.fromtimestamp(t + INTERVAL_S, tz=UTC) for t in starts.tolist()
        ]
        columns["action"] += action_names(kind, setpoint).tolist()
        columns["power_w"] += setpoint.tolist()
        for name in ("objective", "plan_hash", "inputs_hash"):
            columns[name] += [getattr(plans, name)[h] for h in homes.tolist()]
        columns["expected_cost"] += cost.tolist()
        columns["expected_carbon_g"] += grams.tolist()
    count = len(columns["device_id"])
    if count:
        columns["source"] = [DecisionSource.SIMULATED.value] * count
        _decisions_upsert(columns)
    if len(_RECORDED) >= _CACHE_MAX:
        _RECORDED.pop(next(iter(_RECORDED)))
    _RECORDED[shard] = seen
    return count


_DECISION_COLUMNS = (
    "home_id", "device_id", "interval_start", "interval_end", "action", "power_w", "objective",
    "plan_hash", "inputs_hash", "expected_cost", "expected_carbon_g", "source",
)  # fmt: skip
_DECISION_TYPES = (
    "bigint", "bigint", "timestamptz", "timestamptz", "text", "float8", "text", "text", "text",
    "float8", "float8", "text",
)  # fmt: skip


def _decisions_upsert(columns: dict[str, list[Any]]) -> None:
    """Insert the records, replacing a device's record of the same interval: one statement
    over arrays on PostgreSQL (a fleet's new interval is many thousands of rows)."""
    updated = [c for c in _DECISION_COLUMNS if c not in ("home_id", "device_id", "interval_start")]
    if connection.vendor != "postgresql":
        Decision.objects.bulk_create(
            [Decision(**dict(zip(_DECISION_COLUMNS, row, strict=True)))
             for row in zip(*(columns[c] for c in _DECISION_COLUMNS), strict=True)],
            update_conflicts=True,
            unique_fields=["device", "interval_start"],
            update_fields=[c for c in updated if c != "interval_end"],
            batch_size=2000,
        )  # fmt: skip
        return
    names = ", ".join(_DECISION_COLUMNS)
    arrays = ", ".join(f"%s::{kind}[]" for kind in _DECISION_TYPES)
    sets = ", ".join(f"{c} = excluded.{c}" for c in updated)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Decision._meta.db_table} ({names}, created_at) "
            f"SELECT *, now() FROM unnest({arrays}) "
            f"ON CONFLICT (device_id, interval_start) DO UPDATE SET {sets}",
            [columns[c] for c in _DECISION_COLUMNS],
        )


@dataclass(frozen=True, slots=True)
class TwinStep:
    """The twins' tick: their input state, result and ledger (twin rows: ``plans.goal``)."""

    levels: StorageLevels
    books: StoreBook
    result: TickResult
    booked: LedgerResult


def twin_step(
    plans: ShardPlans,
    population: Population,
    signals: TickSignals,
    conn: Any,
    *,
    tick_at: datetime,
    dt_s: float,
    seed: int,
) -> TwinStep | None:
    """Step the twins of the shard's planned homes by the greedy rule (None: no goal here).
    ``population`` is the tick's, with its weather and measured load."""
    twin = plans.twin
    if twin is None:
        return None
    levels, books = storage_state(twin, conn, tick_s=int(tick_at.timestamp()))
    result = population_tick(
        twin_population(plans, population), levels, tick_at=tick_at, dt_s=dt_s, seed=seed
    )
    booked = shard_ledger(twin, result, levels, books, twin_signals(plans, signals), dt_s=dt_s)
    return TwinStep(levels=levels, books=books, result=result, booked=booked)


def planner_columns(
    plans: ShardPlans,
    k: IntArray,
    population: Population,
    result: TickResult,
    twin: TwinStep | None,
) -> FloatArray:
    """Per home (``PLANNER_COLUMNS``): the base load, and where the home has a goal its twin's
    import cost, export revenue and carbon, and where it follows a plan the plan's solar and
    base-load forecast for this tick beside what happened (NaN elsewhere)."""
    count = population.homes.count
    measured = population.homes.measured_load_w
    base_load = result.homes.base_load_w + (0.0 if measured is None else measured)
    columns = np.full((count, len(PLANNER_COLUMNS)), np.nan)
    columns[:, 0] = base_load
    if twin is not None:
        homes = twin.booked.homes
        columns[plans.goal, 1] = homes.import_cost
        columns[plans.goal, 2] = homes.export_revenue
        columns[plans.goal, 3] = homes.carbon_g
    solar_forecast, load_forecast = forecasts_at(plans, k)
    solar = sum_by_home(result.solar_power_w, population.solar.home_index, count)
    forecast = k >= 0
    columns[:, 4] = solar_forecast
    columns[:, 5] = np.where(forecast, solar, np.nan)
    columns[:, 6] = load_forecast
    columns[:, 7] = np.where(forecast, base_load, np.nan)
    return columns


PLANNER_COLUMNS = (
    "base_load_w",
    "baseline_cost",
    "baseline_revenue",
    "baseline_carbon_g",
    "solar_forecast_w",
    "solar_w",
    "base_load_forecast_w",
    "base_load_actual_w",
)
