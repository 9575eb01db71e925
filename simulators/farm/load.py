"""Loading a shard: parameters as arrays (cached per process), storage levels, measured load.

Parameters are loaded with one query per device kind and cached per process, keyed by a token
(device and home counts and latest ``updated_at`` of the shard) that any device or home change
moves. Storage levels come from Redis, or after a flush from the PostgreSQL checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection
from django.db.models import Count, Max, QuerySet

from devices.live import codecs, store, ticks
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
    SolarPanel,
)
from simulators.physics.ev import ev_mode_codes
from simulators.physics.ledger import StoreBook
from simulators.physics.tick import (
    Batteries,
    ElectricVehicles,
    Generators,
    Homes,
    Population,
    SolarPanels,
    StorageLevels,
    Thermostats,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EV_CHARGE_EFFICIENCY = 0.9
BATTERY_INITIAL_SOC = 0.5


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
    # The cached key handles belong to the Redis namespace they were built in.
    return (devices["n"], devices["at"], homes["n"], homes["at"], store.namespace())


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
        current_keys=store.current_handles(device_ids.tolist()),
        storage_keys=store.storage_handles(storage_ids.tolist()),
        home_keys=store.home_handles(home_ids.tolist()),
        ev_target_soc=col(ev_rows, 5),
        meter_home_index=meter_home_index,
        meter_keys=store.current_handles(meter_ids.tolist()),
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
    for row, raw in enumerate(store.raw_many(data.meter_keys, conn)):
        value = codecs.decode(raw)
        if value is not None and not codecs.is_stale(value, now=now_s):
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


class LateShard(Exception):
    """A storage value is newer than the tick being stepped: that tick was applied long ago."""


#: The checkpointed book's columns on Battery and ElectricVehicle (``codecs.BOOK_FIELDS`` order).
BOOK_COLUMNS = tuple(f"book_{name}" for name in codecs.BOOK_FIELDS)


def _checkpointed_books(
    model: type[Battery] | type[ElectricVehicle], ids: IntArray
) -> dict[int, tuple[float, ...]]:
    if not ids.size:
        return {}
    books: dict[int, tuple[float, ...]] = {}
    id_list = ids.tolist()
    for start in range(0, len(id_list), 10_000):
        rows = model.objects.filter(
            pk__in=id_list[start : start + 10_000], book_cost_per_kwh__isnull=False
        )
        books.update((row[0], tuple(row[1:])) for row in rows.values_list("pk", *BOOK_COLUMNS))
    return books


def storage_levels(data: ShardData, conn: Any, *, tick_s: int | None = None) -> StorageLevels:
    """The input levels (and vehicle modes) for stepping tick ``tick_s`` (see
    :func:`storage_state`)."""
    return storage_state(data, conn, tick_s=tick_s)[0]


def storage_state(
    data: ShardData, conn: Any, *, tick_s: int | None = None
) -> tuple[StorageLevels, StoreBook]:
    """The input levels (and vehicle modes) and ledger books for stepping tick ``tick_s``;
    misses from the checkpoint.

    A value already stamped with ``tick_s`` (a redelivered or repeated shard) gives the level it
    was stepped from, so the same tick always steps from the same input and storage moves once
    per tick; a value newer than ``tick_s`` raises :class:`LateShard`, unless ``tick_s`` is the
    tick running now: then the wall clock stepped back (the farm claimed a tick older than one
    it already stepped) and the newest level is the input, so the farm carries on from where
    it was instead of waiting for the clock to catch up. Without ``tick_s`` (an on-demand step)
    the latest level is the input.
    """
    pop = data.population
    n_batteries = pop.batteries.device_id.shape[0]
    records, found = codecs.unpack_storages(store.raw_many(data.storage_keys, conn))
    level = records["level_wh"].astype(np.float64)
    mode = records["mode"].astype(np.int8)
    book = [records[name].astype(np.float64) for name in codecs.BOOK_FIELDS]
    if tick_s is not None and found.any():
        stamped = records["ts"].astype(np.int64)
        if (stamped[found] > tick_s).any() and ticks.tick_running(conn) != tick_s:
            raise LateShard(f"storage already stepped past tick {tick_s}")
        again = found & (stamped == tick_s)
        level[again] = records["prev_level_wh"][again]
        mode[again] = records["prev_mode"][again].astype(np.int8)
        for name, column in zip(codecs.BOOK_FIELDS, book, strict=True):
            column[again] = records[f"prev_{name}"][again]
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
        books = _checkpointed_books(Battery, battery_missing)
        books.update(_checkpointed_books(ElectricVehicle, ev_missing))
        no_book = (0.0,) * len(codecs.BOOK_FIELDS)
        for row in np.flatnonzero(~found).tolist():
            default = capacity[row] * initial_soc[row]
            level[row] = checkpoint.get(int(ids[row]), default)
            mode[row] = 0  # idle: "was home" for vehicles
            for column, value in zip(book, books.get(int(ids[row]), no_book), strict=True):
                column[row] = value
    levels = StorageLevels(
        battery_level_wh=np.ascontiguousarray(level[:n_batteries]),
        ev_level_wh=np.ascontiguousarray(level[n_batteries:]),
        ev_mode=np.ascontiguousarray(mode[n_batteries:]),
    )
    return levels, StoreBook(*(np.ascontiguousarray(column) for column in book))
