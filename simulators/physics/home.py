"""
The energy balance of homes: totals per home, base load, self-consumption dispatch.

Sign convention (ARCHITECTURE.md):

    net_grid_flow_w = consumption_w + storage_flow_w - production_w

> 0 imports from the grid, < 0 exports; ``storage_flow_w`` > 0 is charging (batteries
and vehicles together), < 0 discharging. ``consumption_w`` is the base load plus the
heaters' and air conditioners' load; vehicle charging is storage flow, not consumption.

Self-sufficiency is the share of the home's demand met without the grid:

    demand = consumption_w + charging_w        (charging_w = Σ of positive storage flows)
    self_sufficiency = 1 - max(net_grid_flow_w, 0) / demand,   clipped to [0, 1]

and 1 when demand is 0 (a home that needs nothing is self-sufficient). A home that
exports has self-sufficiency 1; one that runs wholly on the grid has 0.

Self-consumption dispatch: stationary batteries charge from the surplus (production
minus consumption minus vehicle charging) and discharge to cover the deficit,
together with vehicles in V2H mode; they never charge from the grid or discharge to
export. A home's need is split over its stores in proportion to the power each can
take or give this tick, so all of them reach their limit at the same time and none is
asked for more than it can do.

References
----------
.. [Lup14] R. Luthander, J. Widén, D. Nilsson and J. Palm, "Photovoltaic
   self-consumption in buildings: A review", Applied Energy 142, 80-94, 2015
   (self-consumption and self-sufficiency definitions, battery dispatch).
.. [Elexon] Elexon, "Load Profiles and their use in Electricity Settlement", 2013
   (profile class 1, domestic unrestricted: the morning and evening peaks the base-load
   shape imitates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulators.physics._types import FloatArray, Numeric, as_float_array

_HOURLY_SHAPE = np.array(
    [
        0.62, 0.56, 0.53, 0.52, 0.53, 0.60, 0.80, 1.05, 1.12, 1.00, 0.93, 0.92,
        0.95, 0.93, 0.90, 0.92, 1.02, 1.25, 1.50, 1.62, 1.55, 1.38, 1.10, 0.80,
    ],
    dtype=np.float64,
)  # fmt: skip
BASE_LOAD_SHAPE: FloatArray = _HOURLY_SHAPE / _HOURLY_SHAPE.mean()
"""Domestic load at each local hour, relative to the daily mean (mean exactly 1). [-]"""


@dataclass(frozen=True, slots=True)
class HomeBalance:
    """
    Per-home results of one tick.

    Attributes
    ----------
    production_w : ndarray
        Solar plus generators. [W]
    consumption_w : ndarray
        Base load plus heaters and air conditioners. [W]
    storage_flow_w : ndarray
        Sum of battery and vehicle flows, positive charging. [W]
    net_grid_flow_w : ndarray
        consumption + storage_flow - production; > 0 import. [W]
    self_sufficiency : ndarray
        Share of demand not imported, in [0, 1]. [-]
    """

    production_w: FloatArray
    consumption_w: FloatArray
    storage_flow_w: FloatArray
    net_grid_flow_w: FloatArray
    self_sufficiency: FloatArray


def sum_by_home(values: Numeric, home_index: npt.ArrayLike, home_count: int) -> FloatArray:
    """
    Sum device values into their homes in one pass.

    Parameters
    ----------
    values : numeric
        One value per device (a scalar is broadcast).
    home_index : int array
        Home of each device, 0 ≤ index < home_count.
    home_count : int
        Number of homes.

    Returns
    -------
    ndarray of float64
        Shape (home_count,); homes without devices get 0.

    Notes
    -----
    ``np.bincount`` with weights: a single O(n) scatter-add in C.
    """
    index = np.asarray(home_index, dtype=np.intp)
    weights = np.broadcast_to(as_float_array(values), index.shape)
    return np.bincount(index, weights=weights, minlength=home_count).astype(np.float64)


def base_load_w(mean_base_load_w: Numeric, local_seconds_of_day: Numeric) -> FloatArray:
    """
    Household base load at a local time of day.

    Parameters
    ----------
    mean_base_load_w : numeric
        Daily mean of the base load (everything not modelled as a device). [W]
    local_seconds_of_day : numeric
        Local wall-clock time after midnight. [s]

    Returns
    -------
    ndarray
        P = P_mean · shape(h), ``BASE_LOAD_SHAPE`` interpolated linearly (periodically)
        between whole hours; the daily mean is exactly ``mean_base_load_w``. [W]

    References
    ----------
    Elexon 2013, profile class 1 (shape).
    """
    hours = np.mod(as_float_array(local_seconds_of_day), 86_400.0) / 3600.0
    lower = np.floor(hours)
    fraction = hours - lower
    index = lower.astype(np.intp) % 24
    shape = BASE_LOAD_SHAPE[index] * (1.0 - fraction) + BASE_LOAD_SHAPE[(index + 1) % 24] * fraction
    return np.asarray(as_float_array(mean_base_load_w) * shape, dtype=np.float64)


def self_consumption_requests_w(
    surplus_w: Numeric,
    *,
    storage_home_index: npt.ArrayLike,
    charge_limit_w: Numeric,
    discharge_limit_w: Numeric,
    home_count: int,
) -> FloatArray:
    """
    Split each home's surplus or deficit over its stores, in proportion to their limits.

    Parameters
    ----------
    surplus_w : numeric
        Per home: production - consumption - fixed storage flows; > 0 surplus. [W]
    storage_home_index : int array
        Home of each store.
    charge_limit_w : numeric
        Power each store can absorb this tick (0 for discharge-only stores). [W]
    discharge_limit_w : numeric
        Power each store can deliver this tick. [W]
    home_count : int
        Number of homes.

    Returns
    -------
    ndarray
        Requested flow per store, positive charging, within [-discharge, +charge]. [W]

    Notes
    -----
    With C_h = Σ charge limits and D_h = Σ discharge limits of home h:
    request_i = c_i · min(S_h⁺ / C_h, 1) - d_i · min(S_h⁻ / D_h, 1).

    References
    ----------
    Luthander et al. 2015 (self-consumption battery control).
    """
    index = np.asarray(storage_home_index, dtype=np.intp)
    charge = np.broadcast_to(as_float_array(charge_limit_w), index.shape)
    discharge = np.broadcast_to(as_float_array(discharge_limit_w), index.shape)
    surplus = as_float_array(surplus_w)
    charge_total = sum_by_home(charge, index, home_count)
    discharge_total = sum_by_home(discharge, index, home_count)
    charge_fraction = _fraction(np.maximum(surplus, 0.0), charge_total)
    discharge_fraction = _fraction(np.maximum(-surplus, 0.0), discharge_total)
    return np.asarray(
        charge * charge_fraction[index] - discharge * discharge_fraction[index], dtype=np.float64
    )


def _fraction(need: FloatArray, available: FloatArray) -> FloatArray:
    need, available = np.broadcast_arrays(need, available)
    ratio = np.divide(need, available, out=np.zeros(need.shape), where=available > 0.0)
    return np.asarray(np.minimum(ratio, 1.0))


def self_sufficiency(
    consumption_w: Numeric, charging_w: Numeric, net_grid_flow_w: Numeric
) -> FloatArray:
    """
    Share of a home's demand met without importing from the grid.

    Parameters
    ----------
    consumption_w : numeric
        Home consumption. [W]
    charging_w : numeric
        Sum of the positive (charging) storage flows. [W]
    net_grid_flow_w : numeric
        Net grid flow, > 0 import. [W]

    Returns
    -------
    ndarray
        1 - max(net, 0) / (consumption + charging), clipped to [0, 1]; 1 with no demand. [-]

    References
    ----------
    Luthander et al. 2015, eq. 2 (self-sufficiency), applied to instantaneous power.
    """
    demand = np.maximum(as_float_array(consumption_w) + as_float_array(charging_w), 0.0)
    imported = np.maximum(as_float_array(net_grid_flow_w), 0.0)
    demand, imported = np.broadcast_arrays(demand, imported)
    share = np.divide(imported, demand, out=np.zeros(demand.shape), where=demand > 0.0)
    return np.asarray(np.clip(1.0 - share, 0.0, 1.0), dtype=np.float64)


def home_balance(
    *,
    production_w: Numeric,
    consumption_w: Numeric,
    storage_flow_w: Numeric,
    charging_w: Numeric,
) -> HomeBalance:
    """
    Net grid flow and self-sufficiency of homes from their totals.

    Parameters
    ----------
    production_w : numeric
        Per home. [W]
    consumption_w : numeric
        Per home. [W]
    storage_flow_w : numeric
        Per home, net, positive charging. [W]
    charging_w : numeric
        Per home, sum of positive storage flows only. [W]

    Returns
    -------
    HomeBalance
        With net_grid_flow_w = consumption_w + storage_flow_w - production_w.

    References
    ----------
    ARCHITECTURE.md sign convention; Luthander et al. 2015.
    """
    production = as_float_array(production_w)
    consumption = as_float_array(consumption_w)
    storage = as_float_array(storage_flow_w)
    net = consumption + storage - production
    return HomeBalance(
        production_w=production,
        consumption_w=consumption,
        storage_flow_w=storage,
        net_grid_flow_w=np.asarray(net, dtype=np.float64),
        self_sufficiency=self_sufficiency(consumption, charging_w, net),
    )
