"""The farm's side of prices, carbon and weather: a shard's signals and its ledger step.

Signals are resolved once per shard and tick through :func:`grid.signals.signals_for_homes`
(which resolves each region and interval once); their weather goes into the physics (cloud
cover and outdoor temperature where known, the seeded draw elsewhere) and their prices and
carbon intensity into :func:`simulators.physics.ledger.ledger_step`. No per-device Python work:
every array is built with numpy over the shard. The rules are in docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np

from grid.signals import TickSignals, signals_for_homes
from simulators.farm.load import ShardData
from simulators.physics.home import sum_by_home
from simulators.physics.ledger import LedgerResult, StoreBook, ledger_step
from simulators.physics.tick import Population, StorageLevels, TickResult


def shard_signals(data: ShardData, tick_at: datetime) -> TickSignals:
    """Prices, carbon intensity and weather of every home of the shard at ``tick_at``."""
    return signals_for_homes(data.home_ids, tick_at)


def population_with_weather(population: Population, signals: TickSignals) -> Population:
    """The population with the homes' weather (NaN where unknown: the physics' seeded draw)."""
    homes = replace(
        population.homes,
        weather_cloud_cover=np.asarray(signals.cloud_cover, dtype=np.float64),
        weather_temperature_c=np.asarray(signals.temperature_c, dtype=np.float64),
    )
    return replace(population, homes=homes)


def shard_ledger(
    data: ShardData,
    result: TickResult,
    levels: StorageLevels,
    books: StoreBook,
    signals: TickSignals,
    *,
    dt_s: float,
) -> LedgerResult:
    """One tick of the ledger for every home and store of the shard (stores: batteries, then
    vehicles, the order of ``data.storage_keys``)."""
    pop = data.population
    count = pop.homes.count
    batteries, vehicles = pop.batteries, pop.vehicles
    level_before = np.concatenate(
        [
            np.clip(np.nan_to_num(levels.battery_level_wh), 0.0, batteries.capacity_wh),
            np.clip(np.nan_to_num(levels.ev_level_wh), 0.0, vehicles.battery_capacity_wh),
        ]
    )
    return ledger_step(
        solar_w=sum_by_home(result.solar_power_w, pop.solar.home_index, count),
        generator_w=sum_by_home(result.generator_power_w, pop.generators.home_index, count),
        consumption_w=result.homes.consumption_w,
        net_grid_flow_w=result.homes.net_grid_flow_w,
        import_price_per_kwh=signals.import_price,
        export_price_per_kwh=signals.export_price,
        carbon_intensity_g_per_kwh=signals.carbon_intensity,
        store_home_index=np.concatenate([batteries.home_index, vehicles.home_index]),
        store_level_before_wh=level_before,
        store_flow_w=np.concatenate([result.batteries.flow_w, result.vehicles.flow_w]),
        store_efficiency=np.concatenate(
            [batteries.round_trip_efficiency, vehicles.charge_efficiency]
        ),
        store_driven_wh=np.concatenate(
            [np.zeros(batteries.device_id.shape[0]), result.vehicles.driven_wh]
        ),
        books=books,
        dt_s=dt_s,
    )
