"""
Stationary batteries (and the storage core the electric vehicle reuses).

Sign convention (ARCHITECTURE.md): a flow is positive when charging, negative when
discharging, measured at the battery's AC terminals, i.e. as the home sees it.

Where the losses go: all of the round-trip loss is charged on the way in. Charging at
P for Δt stores η·P·Δt; discharging at P for Δt takes exactly P·Δt out of the store.
So ``level_wh`` is always energy that can still be delivered, a round trip returns η
of what went in, and the loss is counted exactly once. Per step:

    new_level = level + η·max(flow, 0)·Δt - max(-flow, 0)·Δt,  loss = (1 - η)·max(flow, 0)·Δt

with Δt in hours; this holds to floating-point precision (a final clip only removes
rounding overshoot at a bound).

References
----------
.. [DB13] J. A. Duffie and W. A. Beckman, *Solar Engineering of Thermal Processes*,
   4th ed., Wiley, 2013 (energy balance of storage).
.. [Lin11] D. Linden and T. B. Reddy, *Linden's Handbook of Batteries*, 4th ed.,
   McGraw-Hill, 2011 (state of charge, C-rate limits, coulombic/round-trip efficiency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.physics._types import FloatArray, Numeric, as_float_array

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class BatteryParams:
    """
    Parameters of one battery or of an array of batteries (fields broadcast).

    Attributes
    ----------
    capacity_wh : numeric
        Usable capacity. [Wh]
    max_charge_w : numeric
        Charge power limit. [W]
    max_discharge_w : numeric
        Discharge power limit (positive number). [W]
    round_trip_efficiency : numeric
        Fraction of charged energy that can be delivered back, in (0, 1]. [-]
    min_soc : numeric
        Lowest state of charge discharging may reach, in [0, 1]. [-]
    """

    capacity_wh: Numeric
    max_charge_w: Numeric
    max_discharge_w: Numeric
    round_trip_efficiency: Numeric = 0.9
    min_soc: Numeric = 0.1


def storage_power_limits_w(
    level_wh: Numeric,
    *,
    lower_wh: Numeric,
    upper_wh: Numeric,
    max_charge_w: Numeric,
    max_discharge_w: Numeric,
    charge_efficiency: Numeric,
    dt_s: Numeric,
) -> tuple[FloatArray, FloatArray]:
    """
    Largest charge and discharge powers a store can sustain for a whole step.

    Parameters
    ----------
    level_wh : numeric
        Stored energy now. [Wh]
    lower_wh : numeric
        Level discharging may not go below. [Wh]
    upper_wh : numeric
        Level charging may not go above. [Wh]
    max_charge_w, max_discharge_w : numeric
        Power ratings (negative values count as 0). [W]
    charge_efficiency : numeric
        Fraction of charged energy stored, in [0, 1]. [-]
    dt_s : numeric
        Step length; 0 allowed (then only the ratings and the sign of the headroom limit). [s]

    Returns
    -------
    charge_limit_w, discharge_limit_w : ndarray
        Both ≥ 0 and finite. [W]

    Notes
    -----
    Charge limit = min(P_c, (upper - level)⁺ / (η Δt)); discharge limit =
    min(P_d, (level - lower)⁺ / Δt), Δt in hours. Divisions by a zero Δt or η are
    masked, never evaluated, so no NaN or infinity escapes.

    References
    ----------
    Linden & Reddy 2011, ch. 3 (power and state-of-charge limits).
    """
    level = as_float_array(level_wh)
    headroom_wh = np.maximum(as_float_array(upper_wh) - level, 0.0)
    available_wh = np.maximum(level - as_float_array(lower_wh), 0.0)
    max_charge = np.maximum(as_float_array(max_charge_w), 0.0)
    max_discharge = np.maximum(as_float_array(max_discharge_w), 0.0)
    hours = np.maximum(as_float_array(dt_s), 0.0) / SECONDS_PER_HOUR
    stored_wh_per_w = np.clip(as_float_array(charge_efficiency), 0.0, 1.0) * hours

    charge_energy_w = _safe_ratio(headroom_wh, stored_wh_per_w)
    discharge_energy_w = _safe_ratio(available_wh, hours)
    charge_limit = np.minimum(max_charge, charge_energy_w)
    discharge_limit = np.minimum(max_discharge, discharge_energy_w)
    return (
        np.asarray(charge_limit, dtype=np.float64),
        np.asarray(discharge_limit, dtype=np.float64),
    )


def _safe_ratio(energy_wh: FloatArray, wh_per_w: FloatArray) -> FloatArray:
    """energy / wh_per_w where wh_per_w > 0; else +inf where energy > 0, else 0."""
    energy, per_w = np.broadcast_arrays(energy_wh, wh_per_w)
    fallback = np.where(energy > 0.0, np.inf, 0.0)
    # A tiny positive step can overflow the ratio to +inf: that is the right answer here
    # (the energy limit does not bind), and the power rating caps it next.
    with np.errstate(over="ignore"):
        return np.asarray(np.divide(energy, per_w, out=fallback, where=per_w > 0.0))


def storage_step(
    level_wh: Numeric,
    requested_flow_w: Numeric,
    *,
    lower_wh: Numeric,
    upper_wh: Numeric,
    max_charge_w: Numeric,
    max_discharge_w: Numeric,
    charge_efficiency: Numeric,
    dt_s: Numeric,
) -> tuple[FloatArray, FloatArray]:
    """
    Move a store toward its bounds by a requested power, within its limits.

    Parameters
    ----------
    level_wh : numeric
        Stored energy at the start of the step (may lie outside [lower, upper]: a flow
        then only moves it toward the band, never further out). [Wh]
    requested_flow_w : numeric
        Wanted power, positive charges. [W]
    lower_wh, upper_wh : numeric
        Discharge floor and charge ceiling. [Wh]
    max_charge_w, max_discharge_w : numeric
        Power ratings. [W]
    charge_efficiency : numeric
        Fraction of charged energy stored (all losses on charge). [-]
    dt_s : numeric
        Step length. [s]

    Returns
    -------
    new_level_wh, flow_w : ndarray
        Level after the step [Wh] and the power actually exchanged [W].

    Notes
    -----
    new_level = level + η max(flow, 0) Δt - max(-flow, 0) Δt (Δt in hours), then
    clipped to [min(level, lower), max(level, upper)], which only removes rounding.

    References
    ----------
    Duffie & Beckman 2013, ch. 8 (storage energy balance).
    """
    level = as_float_array(level_wh)
    lower = as_float_array(lower_wh)
    upper = as_float_array(upper_wh)
    charge_limit, discharge_limit = storage_power_limits_w(
        level,
        lower_wh=lower,
        upper_wh=upper,
        max_charge_w=max_charge_w,
        max_discharge_w=max_discharge_w,
        charge_efficiency=charge_efficiency,
        dt_s=dt_s,
    )
    request = np.nan_to_num(as_float_array(requested_flow_w), nan=0.0)
    flow = np.clip(request, -discharge_limit, charge_limit)
    hours = np.maximum(as_float_array(dt_s), 0.0) / SECONDS_PER_HOUR
    efficiency = np.clip(as_float_array(charge_efficiency), 0.0, 1.0)
    delta_wh = (efficiency * np.maximum(flow, 0.0) + np.minimum(flow, 0.0)) * hours
    new_level = np.clip(level + delta_wh, np.minimum(level, lower), np.maximum(level, upper))
    return np.asarray(new_level, dtype=np.float64), np.asarray(flow, dtype=np.float64)


def battery_bounds_wh(
    level_wh: Numeric, *, capacity_wh: Numeric, min_soc: Numeric
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """
    Clamp a level into [0, capacity] and give the battery's discharge floor and ceiling.

    Parameters
    ----------
    level_wh : numeric
        Stored energy, possibly stale (e.g. after the capacity was edited). [Wh]
    capacity_wh : numeric
        Capacity; negative counts as 0. [Wh]
    min_soc : numeric
        Minimum state of charge, clipped to [0, 1]. [-]

    Returns
    -------
    level_wh, lower_wh, upper_wh : ndarray
        Clamped level, min_soc·capacity and capacity. [Wh]

    References
    ----------
    Linden & Reddy 2011 (state of charge).
    """
    capacity = np.maximum(as_float_array(capacity_wh), 0.0)
    level = np.clip(np.nan_to_num(as_float_array(level_wh), nan=0.0), 0.0, capacity)
    lower = np.clip(as_float_array(min_soc), 0.0, 1.0) * capacity
    return (
        np.asarray(level, dtype=np.float64),
        np.asarray(lower, dtype=np.float64),
        np.asarray(np.broadcast_to(capacity, np.broadcast_shapes(capacity.shape, level.shape))),
    )


def battery_step(
    level_wh: Numeric,
    requested_flow_w: Numeric,
    *,
    capacity_wh: Numeric,
    max_charge_w: Numeric,
    max_discharge_w: Numeric,
    round_trip_efficiency: Numeric,
    min_soc: Numeric,
    dt_s: Numeric,
) -> tuple[FloatArray, FloatArray]:
    """
    Advance battery levels by one step within power and state-of-charge limits.

    Parameters
    ----------
    level_wh : numeric
        Stored energy at the start of the step; clamped into [0, capacity] first. [Wh]
    requested_flow_w : numeric
        Wanted power; positive charges, negative discharges (NaN counts as 0). [W]
    capacity_wh : numeric
        Usable capacity; 0 gives a battery that never moves. [Wh]
    max_charge_w : numeric
        Charge power limit. [W]
    max_discharge_w : numeric
        Discharge power limit, a positive number. [W]
    round_trip_efficiency : numeric
        Delivered / charged energy, in (0, 1]; all the loss is taken on charge. [-]
    min_soc : numeric
        Discharge stops at min_soc·capacity (a level already below it may charge). [-]
    dt_s : numeric
        Step length; 0 moves no energy and yields no NaN. [s]

    Returns
    -------
    new_level_wh, flow_w : ndarray
        Stored energy after the step [Wh] and the power actually drawn (> 0) or
        delivered (< 0) [W].

    Notes
    -----
    Invariants, for any inputs: 0 ≤ new_level ≤ capacity; -max_discharge ≤ flow ≤
    max_charge; a level at or above the floor stays at or above it; and
    new_level - level = (η max(flow, 0) + min(flow, 0))·Δt to rounding.

    References
    ----------
    Linden & Reddy 2011; Duffie & Beckman 2013, ch. 8.
    """
    level, lower, upper = battery_bounds_wh(level_wh, capacity_wh=capacity_wh, min_soc=min_soc)
    return storage_step(
        level,
        requested_flow_w,
        lower_wh=lower,
        upper_wh=upper,
        max_charge_w=max_charge_w,
        max_discharge_w=max_discharge_w,
        charge_efficiency=round_trip_efficiency,
        dt_s=dt_s,
    )


def battery_params_step(
    level_wh: Numeric, requested_flow_w: Numeric, params: BatteryParams, *, dt_s: Numeric
) -> tuple[FloatArray, FloatArray]:
    """
    ``battery_step`` with the parameters taken from a ``BatteryParams`` bundle.

    Parameters
    ----------
    level_wh : numeric
        Stored energy. [Wh]
    requested_flow_w : numeric
        Wanted power, positive charges. [W]
    params : BatteryParams
        Battery parameters.
    dt_s : numeric
        Step length. [s]

    Returns
    -------
    new_level_wh, flow_w : ndarray
        As ``battery_step``. [Wh], [W]

    References
    ----------
    See ``battery_step``.
    """
    return battery_step(
        level_wh,
        requested_flow_w,
        capacity_wh=params.capacity_wh,
        max_charge_w=params.max_charge_w,
        max_discharge_w=params.max_discharge_w,
        round_trip_efficiency=params.round_trip_efficiency,
        min_soc=params.min_soc,
        dt_s=dt_s,
    )
