"""
The cost and carbon ledger: what each home's energy costs and emits, through its stores.

Every tick, for every home, the ledger prices the grid exchange (import cost, export
revenue, carbon emitted by imports), credits own generation with the carbon it displaces,
and follows energy through every battery and electric vehicle, so that energy stored at
noon and used at 19:00 carries the cost and carbon it was stored with, not the evening
grid's.

Units: energies in Wh as the physics gives them, prices per kWh, carbon intensity in
gCO2e/kWh, money in the home's currency, carbon in g.

The rules
---------
**Sources and sinks.** Within a home and a tick the sources are own solar, own generators,
grid import and the discharge of each store; the sinks are the home's load
(``consumption_w``: base load, heaters, air conditioners, measured load), the charge of each
store (measured at its terminals, before losses) and export. The physics balances them:
``solar + generator + import + Σ discharge = load + Σ charge + export``.

**Proportional mixing.** A tick's sources are pooled and every sink takes the same mix: a
sink taking the fraction ``f = sink / (load + Σ charge + export)`` of the pool's energy
takes ``f`` of the pool's cost, carbon and origin. Grid import enters the pool at the import
price and the grid's intensity; a store's discharge at the store's average cost and carbon;
own solar and generator output at zero cost and zero carbon (the generator's fuel is not
modelled). Mixing needs no priority order, treats every store alike and conserves by
construction: the fractions add up to one.

**The stores: weighted average.** Each store carries the average cost and carbon per kWh of
its content and the share of its content from own solar, own generators and the grid (what
remains is energy present before the ledger knew the store: unknown origin, valued at zero).
Charging adds the charged energy's cost and carbon in full but stores only ``η`` of its
energy (the physics takes all of the round-trip loss on the way in), so the losses keep
their cost and carbon in what remains and the average per kWh rises by ``1/η``.
Discharging and driving take energy out at the average, which leaves the average
unchanged. The amount itself is the physics' level: the ledger carries only the averages
and shares, so a store's content is ``level · average`` at any tick.

**Driving.** Energy a vehicle drove on leaves the ledger as driving (``driven_*``), not as
home consumption.

**Carbon avoided.** Own generation (solar and generator, directly or through a store) that
reaches the home's load or the grid displaces grid energy at this tick's intensity: avoided
= own-origin energy reaching load or export × the grid's carbon intensity now. Own energy
going into a store avoids nothing yet; it is counted when it leaves the store for the load
or the grid.

**Conservation.** Per tick and home, exactly up to floating-point rounding::

    solar + generator + import = load + export + losses + driven + Δstored      [Wh]
    import_cost                = load_cost + export_cost + driven_cost + Δstored_cost
    import_carbon              = load_carbon + export_carbon + driven_carbon + Δstored_carbon

where ``export_cost`` and ``export_carbon`` are what the exported energy carries out of the
home (its revenue, at the export price, is separate) and ``Δstored_*`` is the change in the
stores' content. ``tests/simulators/physics/test_ledger.py`` checks all three over random
ticks.

References
----------
.. [GHG] WRI/WBCSD, *GHG Protocol Scope 2 Guidance*, 2015 (location-based grid emission
   factors; attribution of grid electricity to consumption).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.physics._types import FloatArray, IntArray, as_float_array

WH_PER_KWH = 1000.0
SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class StoreBook:
    """
    What each store's content cost and emitted, and where it came from; one row per store.

    Attributes
    ----------
    cost_per_kwh : ndarray
        Average cost of the stored energy. [currency/kWh]
    carbon_g_per_kwh : ndarray
        Average carbon of the stored energy. [gCO2e/kWh]
    solar_share, generator_share, grid_share : ndarray
        Shares of the stored energy by origin; ``1 - their sum`` is of unknown origin. [-]
    """

    cost_per_kwh: FloatArray
    carbon_g_per_kwh: FloatArray
    solar_share: FloatArray
    generator_share: FloatArray
    grid_share: FloatArray

    @classmethod
    def empty(cls, count: int) -> StoreBook:
        """Books of ``count`` stores holding energy of unknown origin at zero cost."""
        return cls(*(np.zeros(count) for _ in range(5)))


@dataclass(frozen=True, slots=True)
class HomeLedger:
    """
    One tick of every home's ledger, one row per home.

    Attributes
    ----------
    import_wh, export_wh : ndarray
        Energy bought from and sold to the grid. [Wh]
    import_cost, export_revenue : ndarray
        Their price. [currency]
    carbon_g : ndarray
        Carbon emitted by the imports. [g]
    carbon_avoided_g : ndarray
        Carbon displaced by own generation reaching the load or the grid. [g]
    load_cost, load_carbon_g : ndarray
        Cost and carbon the home's load carried (grid at the tariff, stores at their
        average, own generation free). [currency], [g]
    export_cost, export_carbon_g : ndarray
        Cost and carbon the exported energy carried out of the home. [currency], [g]
    loss_wh : ndarray
        Round-trip losses of the home's stores. [Wh]
    driven_wh, driven_cost, driven_carbon_g : ndarray
        Energy vehicles drove on, with its cost and carbon. [Wh], [currency], [g]
    stored_before_wh, stored_after_wh : ndarray
        Energy in the home's stores before and after the tick. [Wh]
    stored_cost_before, stored_cost_after : ndarray
        Their content's cost. [currency]
    stored_carbon_before_g, stored_carbon_after_g : ndarray
        Their content's carbon. [g]
    """

    import_wh: FloatArray
    export_wh: FloatArray
    import_cost: FloatArray
    export_revenue: FloatArray
    carbon_g: FloatArray
    carbon_avoided_g: FloatArray
    load_cost: FloatArray
    load_carbon_g: FloatArray
    export_cost: FloatArray
    export_carbon_g: FloatArray
    loss_wh: FloatArray
    driven_wh: FloatArray
    driven_cost: FloatArray
    driven_carbon_g: FloatArray
    stored_before_wh: FloatArray
    stored_after_wh: FloatArray
    stored_cost_before: FloatArray
    stored_cost_after: FloatArray
    stored_carbon_before_g: FloatArray
    stored_carbon_after_g: FloatArray


@dataclass(frozen=True, slots=True)
class LedgerResult:
    """
    A tick of the ledger.

    Attributes
    ----------
    homes : HomeLedger
        Per home.
    books : StoreBook
        Every store's book after the tick.
    stored_wh : ndarray
        Every store's energy after the tick, by the ledger's own arithmetic (equal to the
        physics' level up to rounding). [Wh]
    """

    homes: HomeLedger
    books: StoreBook
    stored_wh: FloatArray


def _by_home(values: FloatArray, home_index: IntArray, home_count: int) -> FloatArray:
    if not values.size:
        return np.zeros(home_count)
    totals = np.bincount(home_index, weights=values, minlength=home_count)[:home_count]
    return np.asarray(totals, dtype=np.float64)


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    safe = np.where(denominator > 0.0, denominator, 1.0)
    return np.where(denominator > 0.0, numerator / safe, 0.0)


def ledger_step(
    *,
    solar_w: FloatArray,
    generator_w: FloatArray,
    consumption_w: FloatArray,
    net_grid_flow_w: FloatArray,
    import_price_per_kwh: FloatArray,
    export_price_per_kwh: FloatArray,
    carbon_intensity_g_per_kwh: FloatArray,
    store_home_index: IntArray,
    store_level_before_wh: FloatArray,
    store_flow_w: FloatArray,
    store_efficiency: FloatArray,
    store_driven_wh: FloatArray,
    books: StoreBook,
    dt_s: float,
) -> LedgerResult:
    """
    Price one tick of every home and move every store's book.

    Parameters
    ----------
    solar_w, generator_w, consumption_w, net_grid_flow_w : ndarray
        Per home: own solar and generator output, load, and net grid flow (> 0 import),
        as the physics balanced them. [W]
    import_price_per_kwh, export_price_per_kwh : ndarray
        Per home: this tick's tariff. [currency/kWh]
    carbon_intensity_g_per_kwh : ndarray
        Per home: the grid's carbon intensity now. [gCO2e/kWh]
    store_home_index : ndarray of int64
        Per store (batteries and vehicles alike): its home's row.
    store_level_before_wh : ndarray
        Per store: the level the physics stepped from. [Wh]
    store_flow_w : ndarray
        Per store: power at its terminals, positive charging. [W]
    store_efficiency : ndarray
        Per store: fraction of charged energy stored (the whole round-trip loss). [-]
    store_driven_wh : ndarray
        Per store: energy driven on this tick (0 for batteries). [Wh]
    books : StoreBook
        Per store: the book before the tick.
    dt_s : float
        Tick length. [s]

    Returns
    -------
    LedgerResult
        Per-home ledger, the stores' books after the tick and their energy.

    Notes
    -----
    The rules (proportional mixing, weighted-average stores, carbon avoided, conservation)
    are in the module docstring.
    """
    home_count = int(as_float_array(consumption_w).shape[0])
    to_wh = float(dt_s) / SECONDS_PER_HOUR
    net = as_float_array(net_grid_flow_w)
    solar = np.maximum(as_float_array(solar_w), 0.0) * to_wh
    generator = np.maximum(as_float_array(generator_w), 0.0) * to_wh
    load = np.maximum(as_float_array(consumption_w), 0.0) * to_wh
    import_wh = np.maximum(net, 0.0) * to_wh
    export_wh = np.maximum(-net, 0.0) * to_wh
    import_kwh = import_wh / WH_PER_KWH
    price_in = as_float_array(import_price_per_kwh)
    price_out = as_float_array(export_price_per_kwh)
    intensity = as_float_array(carbon_intensity_g_per_kwh)

    # Stores: energy out at the average (driving, then discharge), energy in before losses.
    flow = as_float_array(store_flow_w)
    efficiency = as_float_array(store_efficiency)
    level_before = np.maximum(as_float_array(store_level_before_wh), 0.0)
    driven = np.minimum(np.maximum(as_float_array(store_driven_wh), 0.0), level_before)
    charge = np.maximum(flow, 0.0) * to_wh
    discharge = np.maximum(-flow, 0.0) * to_wh
    cost_avg = books.cost_per_kwh
    carbon_avg = books.carbon_g_per_kwh
    at = store_home_index

    def per_home(values: FloatArray) -> FloatArray:
        return _by_home(values, at, home_count)

    discharge_kwh = discharge / WH_PER_KWH
    pool_wh = solar + generator + import_wh + per_home(discharge)
    pool_cost = import_kwh * price_in + per_home(discharge_kwh * cost_avg)
    pool_carbon = import_kwh * intensity + per_home(discharge_kwh * carbon_avg)
    pool_solar = solar + per_home(discharge * books.solar_share)
    pool_generator = generator + per_home(discharge * books.generator_share)
    pool_grid = import_wh + per_home(discharge * books.grid_share)

    sinks_wh = load + per_home(charge) + export_wh
    load_part = _ratio(load, sinks_wh)
    export_part = _ratio(export_wh, sinks_wh)
    charge_part = _ratio(charge, sinks_wh[at])

    # Each store's charge takes its part of the pool; its origin is the pool's.
    charge_cost = pool_cost[at] * charge_part
    charge_carbon = pool_carbon[at] * charge_part
    stored_in = efficiency * charge
    remaining = np.maximum(level_before - driven - discharge, 0.0)
    stored_after = remaining + stored_in
    remaining_kwh = remaining / WH_PER_KWH
    after_kwh = stored_after / WH_PER_KWH
    new_cost_avg = _ratio(remaining_kwh * cost_avg + charge_cost, after_kwh)
    new_carbon_avg = _ratio(remaining_kwh * carbon_avg + charge_carbon, after_kwh)

    def share_after(share: FloatArray, pool_origin: FloatArray) -> FloatArray:
        origin_in = stored_in * _ratio(pool_origin, pool_wh)[at]
        return _ratio(remaining * share + origin_in, stored_after)

    new_books = StoreBook(
        cost_per_kwh=new_cost_avg,
        carbon_g_per_kwh=new_carbon_avg,
        solar_share=share_after(books.solar_share, pool_solar),
        generator_share=share_after(books.generator_share, pool_generator),
        grid_share=share_after(books.grid_share, pool_grid),
    )

    own_pool = pool_solar + pool_generator
    avoided = own_pool / WH_PER_KWH * (load_part + export_part) * intensity
    driven_kwh = driven / WH_PER_KWH
    level_before_kwh = level_before / WH_PER_KWH
    homes = HomeLedger(
        import_wh=import_wh,
        export_wh=export_wh,
        import_cost=import_kwh * price_in,
        export_revenue=export_wh / WH_PER_KWH * price_out,
        carbon_g=import_kwh * intensity,
        carbon_avoided_g=avoided,
        load_cost=pool_cost * load_part,
        load_carbon_g=pool_carbon * load_part,
        export_cost=pool_cost * export_part,
        export_carbon_g=pool_carbon * export_part,
        loss_wh=per_home(charge - stored_in),
        driven_wh=per_home(driven),
        driven_cost=per_home(driven_kwh * cost_avg),
        driven_carbon_g=per_home(driven_kwh * carbon_avg),
        stored_before_wh=per_home(level_before),
        stored_after_wh=per_home(stored_after),
        stored_cost_before=per_home(level_before_kwh * cost_avg),
        stored_cost_after=per_home(remaining_kwh * cost_avg + charge_cost),
        stored_carbon_before_g=per_home(level_before_kwh * carbon_avg),
        stored_carbon_after_g=per_home(remaining_kwh * carbon_avg + charge_carbon),
    )
    return LedgerResult(homes=homes, books=new_books, stored_wh=stored_after)


__all__ = ["HomeLedger", "LedgerResult", "StoreBook", "ledger_step"]
