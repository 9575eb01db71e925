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
from simulators.farm.load import ShardData
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
)
_COL = {name: index for index, name in enumerate(RESULT_COLUMNS)}


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


def storage_values(
    data: ShardData, result: TickResult, levels: StorageLevels, *, ts: int, until: int
) -> list[bytes]:
    """Packed ``storage`` values (after the tick, and the input it was stepped from)."""
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
    )


def home_values(rows: FloatArray, *, ts: int, until: int) -> list[bytes]:
    return [orjson.dumps(stats_value(row, ts=ts, until=until)) for row in rows.tolist()]


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
