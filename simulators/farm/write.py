"""Writing a shard's results: per-home rows, live values (packed) and the level checkpoint."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from django.db import connection

from devices.live import codecs
from devices.models import Battery, ElectricVehicle
from grid.signals import TickSignals
from simulators.farm.load import BOOK_COLUMNS, ShardData
from simulators.farm.plans import PLANNER_COLUMNS
from simulators.physics.ledger import LedgerResult, StoreBook
from simulators.physics.tick import StorageLevels, TickResult

FloatArray = npt.NDArray[np.float64]

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
    # Signals and the ledger (docs/architecture.md, "The ledger").
    "import_price_per_kwh",
    "export_price_per_kwh",
    "carbon_intensity",
    "cost_rate_per_hour",
    "carbon_rate_g_per_hour",
    "cost",
    "revenue",
    "carbon_g",
    "carbon_avoided_g",
    # The planner's (simulators.farm.plans.PLANNER_COLUMNS; NaN where a home has none).
    *PLANNER_COLUMNS,
)
_COL = {name: index for index, name in enumerate(RESULT_COLUMNS)}
#: Live fields of the signals and the ledger, per home and (prices: averaged) per user.
LEDGER_STATS = (
    "import_price_per_kwh",
    "export_price_per_kwh",
    "carbon_intensity",
    "cost_rate_per_hour",
    "carbon_rate_g_per_hour",
)


def home_rows(
    data: ShardData,
    result: TickResult,
    signals: TickSignals,
    ledger: LedgerResult,
    *,
    dt_s: float,
    planner: FloatArray | None = None,
) -> FloatArray:
    """Per-home results (``RESULT_COLUMNS``) of a tick.

    The cost and carbon rates are those the home's load carries now (grid energy at the
    tariff, stored energy at its book's average, own generation free), per hour; ``cost``,
    ``revenue``, ``carbon_g`` and ``carbon_avoided_g`` are the tick's grid exchange; ``planner``
    the planner's columns (``simulators.farm.plans.planner_columns``; None: all NaN).
    """
    per_hour = 3600.0 / dt_s
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
            signals.import_price,
            signals.export_price,
            signals.carbon_intensity,
            ledger.homes.load_cost * per_hour,
            ledger.homes.load_carbon_g * per_hour,
            ledger.homes.import_cost,
            ledger.homes.export_revenue,
            ledger.homes.carbon_g,
            ledger.homes.carbon_avoided_g,
            planner if planner is not None else np.full((count, len(PLANNER_COLUMNS)), np.nan),
        ]
    )


def stats_value(
    row: Sequence[float], *, ts: int, until: int, partial: bool = False
) -> dict[str, Any]:
    """A home's or user's stats value from a result row (``partial``: some homes missing)."""
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
    for name in LEDGER_STATS:
        value[name] = round(row[_COL[name]] + 0.0, 6) + 0.0
    value["ts"] = ts
    value["until"] = until
    if partial:
        value["partial"] = True
    return value


def current_values(data: ShardData, result: TickResult, *, ts: int, until: int) -> list[bytes]:
    """Packed ``current`` values of every simulated device, in ``data.current_keys`` order."""
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
    return codecs.pack_currents(power, ts=ts, until=until, mode=modes)


def _book_columns(book: StoreBook) -> list[FloatArray]:
    return [getattr(book, name) for name in codecs.BOOK_FIELDS]


def storage_values(
    data: ShardData,
    result: TickResult,
    levels: StorageLevels,
    *,
    books: StoreBook,
    prev_books: StoreBook,
    ts: int,
    until: int,
) -> list[bytes]:
    """Packed ``storage`` values (after the tick, and the input it was stepped from), with the
    ledger's books after and before the tick."""
    pop = data.population
    n_batteries = pop.batteries.device_id.shape[0]
    return codecs.pack_storages(
        capacity_wh=np.concatenate([pop.batteries.capacity_wh, pop.vehicles.battery_capacity_wh]),
        level_wh=np.concatenate([result.batteries.level_wh, result.vehicles.level_wh]),
        flow_w=np.concatenate([result.batteries.flow_w, result.vehicles.flow_w]),
        mode=np.concatenate([result.batteries.mode, result.vehicles.mode]),
        prev_level_wh=np.concatenate([levels.battery_level_wh, levels.ev_level_wh]),
        prev_mode=np.concatenate([np.zeros(n_batteries, dtype=np.int8), levels.ev_mode]),
        ts=ts,
        until=until,
        book=_book_columns(books),
        prev_book=_book_columns(prev_books),
    )


def home_values(rows: FloatArray, *, ts: int, until: int) -> list[bytes]:
    return [orjson.dumps(stats_value(row, ts=ts, until=until)) for row in rows.tolist()]


def levels_checkpoint(
    data: ShardData, result: TickResult, books: StoreBook, *, tick_at: datetime
) -> None:
    """Save battery and vehicle levels and their ledger books to PostgreSQL (the restart point
    after a Redis loss)."""
    pop = data.population
    n_batteries = pop.batteries.device_id.shape[0]
    columns = _book_columns(books)
    for model, ids, levels, rows in (
        (Battery, pop.batteries.device_id, result.batteries.level_wh, slice(0, n_batteries)),
        (ElectricVehicle, pop.vehicles.device_id, result.vehicles.level_wh,
         slice(n_batteries, None)),
    ):  # fmt: skip
        if not ids.size:
            continue
        book = [column[rows].tolist() for column in columns]
        table = model._meta.db_table
        if connection.vendor == "postgresql":
            names = ["level", *codecs.BOOK_FIELDS]
            sets = ", ".join(
                f"{column} = v.{name}"
                for column, name in zip(("level_wh", *BOOK_COLUMNS), names, strict=True)
            )
            arrays = ", ".join("%s::float8[]" for _ in names)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} AS t SET {sets}, level_at = %s "
                    f"FROM unnest(%s::bigint[], {arrays}) AS v(id, {', '.join(names)}) "
                    "WHERE t.device_ptr_id = v.id",
                    [tick_at, ids.tolist(), levels.tolist(), *book],
                )
        else:
            objs: list[Any] = [
                model(
                    pk=pk,
                    level_wh=level,
                    level_at=tick_at,
                    **dict(zip(BOOK_COLUMNS, values, strict=True)),
                )
                for pk, level, *values in zip(ids.tolist(), levels.tolist(), *book, strict=True)
            ]
            model.objects.bulk_update(objs, ["level_wh", "level_at", *BOOK_COLUMNS], batch_size=500)
