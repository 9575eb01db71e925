"""
Signals of many homes at one instant, for the farm's tick: the contract the ledger builds on.

``signals_for_homes`` answers arrays aligned with the home ids asked for. The work is done once
per (region, tariff, interval), not per home: each home's region and tariff are loaded once per
process and signal interval (``grid.selectors.home_grid_table``), the signals once per region
and interval (``grid.resolver``), and a home's values are numpy lookups into those tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from grid import resolver
from grid.providers.base import Signal
from grid.selectors import home_grid_table

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TickSignals:
    """Signals of many homes at one instant; arrays aligned with the home ids asked for."""

    import_price: FloatArray
    """Price of energy bought from the grid. [currency/kWh]"""
    export_price: FloatArray
    """Price paid for energy sold to the grid. [currency/kWh]"""
    carbon_intensity: FloatArray
    """Grid carbon intensity. [gCO2e/kWh]"""
    cloud_cover: FloatArray
    """Cloud cover, 0..1 [-]; NaN where no provider other than the synthetic one has it (the farm
    then keeps its seeded cloud draw)."""
    temperature_c: FloatArray
    """Outdoor temperature [°C]; NaN likewise."""


def signals_for_homes(home_ids: npt.NDArray[np.int64], at: datetime) -> TickSignals:
    """Resolved once per (region, tariff, interval), not per home: must cost little for 300,000
    homes (the farm's 1M-device bench)."""
    table = home_grid_table(np.asarray(home_ids, dtype=np.int64), at)
    regional = resolver.regional_signals(table.regions, at)
    tariffs = resolver.tariff_prices(table.tariffs, at)
    region_of, tariff_of = table.region_index, table.tariff_index

    import_by_region = regional[Signal.IMPORT_PRICE].value[region_of]
    export_by_region = regional[Signal.EXPORT_PRICE].value[region_of]
    import_price = np.where(
        tariffs.import_dynamic[tariff_of], import_by_region, tariffs.import_price[tariff_of]
    )
    export_price = np.where(
        tariffs.export_dynamic[tariff_of], export_by_region, tariffs.export_price[tariff_of]
    )
    return TickSignals(
        import_price=np.asarray(import_price, dtype=np.float64),
        export_price=np.asarray(export_price, dtype=np.float64),
        carbon_intensity=regional[Signal.CARBON_INTENSITY].value[region_of],
        cloud_cover=regional[Signal.CLOUD_COVER].measured[region_of],
        temperature_c=regional[Signal.TEMPERATURE].measured[region_of],
    )
