"""
Electric vehicles: the away schedule in the home's timezone, driving, charging and V2H.

Modes are small integers in arrays (``EV_MODE_*``); ``ev_mode_codes`` and
``ev_mode_names`` convert to and from the strings the API uses:

====  ===============  ============================================================
code  name             meaning
====  ===============  ============================================================
0     ``idle``         at home, no flow (mode idle, at target, or at reserve)
1     ``charging``     at home, charging at max_charge_w toward target_soc
2     ``discharging``  at home, vehicle-to-home: covers the home's deficit down to
                       reserve_soc
3     ``offline``      away (driving or parked elsewhere); not reachable
====  ===============  ============================================================

Transitions, each tick: a car whose schedule says away becomes ``offline`` and its
level freezes at what it last reported. On the first tick back home it reports the
energy driven during the whole trip (``driving_wh_per_hour`` · the trip's real
duration, DST-correct) and takes the owner's requested mode again: ``charging`` until
target_soc is reached, then ``idle``; ``discharging`` until reserve_soc, then ``idle``.

The schedule is in the home's local wall-clock time (IANA zone, via ``zoneinfo``),
so 07:00 stays 07:00 across daylight-saving changes. Local clocks are computed once
per distinct zone (a population has few) and broadcast with integer indices.

References
----------
.. [PEP615] P. Ganssle, "PEP 615 - Support for the IANA Time Zone Database in the
   Standard Library", 2020 (``zoneinfo`` semantics, ``fold`` for repeated hours).
.. [Lin11] D. Linden and T. B. Reddy, *Linden's Handbook of Batteries*, 4th ed., 2011.
.. [ISO15118] ISO 15118-20:2022, bidirectional power transfer (V2H/V2G concept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from simulators.physics._types import (
    BoolArray,
    FloatArray,
    IntArray,
    Numeric,
    as_float_array,
    utc_datetime,
)
from simulators.physics.battery import storage_power_limits_w, storage_step
from simulators.physics.constants import (
    ALL_DAYS_MASK,
    EV_MODE_CHARGING,
    EV_MODE_DISCHARGING,
    EV_MODE_IDLE,
    EV_MODE_NAMES,
    EV_MODE_OFFLINE,
    WEEKDAYS_MASK,
)

DEFAULT_DEPARTURE_S = 7 * 3600
DEFAULT_ARRIVAL_S = 18 * 3600

MIN_USEFUL_POWER_W = 1e-6


def ev_mode_codes(names: str | Sequence[str]) -> npt.NDArray[np.int8]:
    """
    Mode codes of mode names.

    Parameters
    ----------
    names : str or sequence of str
        Names among ``EV_MODE_NAMES``.

    Returns
    -------
    ndarray of int8
        Codes (0-d for one name).

    Raises
    ------
    ValueError
        For an unknown name.
    """
    lookup = {name: code for code, name in enumerate(EV_MODE_NAMES)}
    array = np.asarray(names, dtype=object)
    try:
        codes = [lookup[str(name)] for name in array.ravel()]
    except KeyError as error:
        msg = f"unknown EV mode {error.args[0]!r}; expected one of {EV_MODE_NAMES}"
        raise ValueError(msg) from None
    return np.asarray(codes, dtype=np.int8).reshape(array.shape)


def ev_mode_names(codes: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """
    Mode names of mode codes.

    Parameters
    ----------
    codes : int or array of int
        Codes 0-3.

    Returns
    -------
    ndarray of str
        Names, same shape.
    """
    return np.asarray(EV_MODE_NAMES)[np.asarray(codes, dtype=np.intp)]


@dataclass(frozen=True, slots=True)
class EvParams:
    """
    Parameters of one vehicle or an array of vehicles (fields broadcast).

    Attributes
    ----------
    battery_capacity_wh : numeric
        Usable battery capacity. [Wh]
    max_charge_w : numeric
        Home charger power. [W]
    max_discharge_w : numeric
        V2H discharge power limit. [W]
    charge_efficiency : numeric
        Fraction of charged energy stored (all losses on charge, as batteries). [-]
    target_soc : numeric
        Charging stops here. [-]
    reserve_soc : numeric
        V2H discharge stops here. [-]
    driving_wh_per_hour : numeric
        Energy used per hour away, parking included; the default 600 Wh/h is a 40 km
        commute at 165 Wh/km spread over an 11 h day away. [Wh/h]
    days_mask : int or array of int
        Days with a trip: bit 0 Monday … bit 6 Sunday.
    departure_s : numeric
        Local departure time, seconds after local midnight. [s]
    arrival_s : numeric
        Local arrival time; ≤ departure means the next day (overnight trip). [s]
    """

    battery_capacity_wh: Numeric
    max_charge_w: Numeric
    max_discharge_w: Numeric
    charge_efficiency: Numeric = 0.9
    target_soc: Numeric = 0.9
    reserve_soc: Numeric = 0.2
    driving_wh_per_hour: Numeric = 600.0
    days_mask: npt.ArrayLike = WEEKDAYS_MASK
    departure_s: Numeric = DEFAULT_DEPARTURE_S
    arrival_s: Numeric = DEFAULT_ARRIVAL_S


@dataclass(frozen=True, slots=True)
class ZoneClock:
    """
    Local wall-clock readings of one instant in several zones.

    Attributes
    ----------
    weekday : ndarray of int64
        0 Monday … 6 Sunday.
    seconds_of_day : ndarray of float64
        Seconds since local midnight (wall clock). [s]
    date_ordinal : ndarray of int64
        Proleptic Gregorian ordinal of the local date (``date.toordinal()``).
    utc_offset_s : ndarray of int64
        Local minus UTC. [s]
    """

    weekday: IntArray
    seconds_of_day: FloatArray
    date_ordinal: IntArray
    utc_offset_s: IntArray


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_clock(at: datetime, timezones: Sequence[str]) -> ZoneClock:
    """
    Local wall clock of one aware instant in each of a few IANA zones.

    Parameters
    ----------
    at : datetime
        Aware instant.
    timezones : sequence of str
        IANA zone names, e.g. ``("Europe/Berlin", "America/Los_Angeles")``.

    Returns
    -------
    ZoneClock
        One entry per zone; index it with a home's zone index to broadcast.

    References
    ----------
    PEP 615 (``zoneinfo``), IANA tz database.
    """
    utc = utc_datetime(at)
    weekday, seconds, ordinal, offset = [], [], [], []
    for name in timezones:
        local = utc.astimezone(_zone(name))
        weekday.append(local.weekday())
        seconds.append(
            local.hour * 3600 + local.minute * 60 + local.second + local.microsecond * 1e-6
        )
        ordinal.append(local.toordinal())
        utc_offset = local.utcoffset()
        offset.append(0 if utc_offset is None else int(utc_offset.total_seconds()))
    return ZoneClock(
        weekday=np.asarray(weekday, dtype=np.int64),
        seconds_of_day=np.asarray(seconds, dtype=np.float64),
        date_ordinal=np.asarray(ordinal, dtype=np.int64),
        utc_offset_s=np.asarray(offset, dtype=np.int64),
    )


def local_wall_to_unix_s(
    zone_index: npt.ArrayLike,
    date_ordinal: npt.ArrayLike,
    seconds_of_day: npt.ArrayLike,
    timezones: Sequence[str],
) -> FloatArray:
    """
    UTC instants (Unix seconds) of local wall-clock times, one zone lookup per distinct input.

    Parameters
    ----------
    zone_index : int array
        Index into ``timezones``.
    date_ordinal : int array
        Local date as ``date.toordinal()``.
    seconds_of_day : numeric
        Local wall-clock time after midnight. [s]
    timezones : sequence of str
        IANA zone names.

    Returns
    -------
    ndarray of float64
        Unix seconds. A wall time repeated by a fall-back change is taken at its first
        occurrence (``fold=0``); one skipped by a spring-forward change is read with the
        offset before the change, per PEP 495. [s]

    References
    ----------
    PEP 495 (``fold``), PEP 615.
    """
    zones, dates, seconds = np.broadcast_arrays(
        np.asarray(zone_index, dtype=np.int64),
        np.asarray(date_ordinal, dtype=np.int64),
        np.asarray(seconds_of_day, dtype=np.float64),
    )
    if zones.size == 0:
        return np.zeros(zones.shape, dtype=np.float64)
    keys = np.stack([zones.ravel(), dates.ravel(), seconds.ravel().view(np.int64)], axis=1)
    unique_keys, inverse = np.unique(keys, axis=0, return_inverse=True)
    values = np.empty(len(unique_keys), dtype=np.float64)
    for row, (zone, ordinal, seconds_bits) in enumerate(unique_keys):
        wall_s = float(np.int64(seconds_bits).view(np.float64))
        naive_wall = datetime.combine(date.fromordinal(int(ordinal)), time(0)) + timedelta(
            seconds=wall_s
        )
        values[row] = naive_wall.replace(tzinfo=_zone(timezones[zone])).timestamp()
    return values[inverse.ravel()].reshape(zones.shape)


def ev_is_away(
    weekday: npt.ArrayLike,
    seconds_of_day: Numeric,
    *,
    days_mask: npt.ArrayLike,
    departure_s: Numeric,
    arrival_s: Numeric,
) -> BoolArray:
    """
    Whether vehicles are away by their weekly schedule, in local wall-clock time.

    Parameters
    ----------
    weekday : int array
        Local weekday, 0 Monday … 6 Sunday.
    seconds_of_day : numeric
        Local wall-clock seconds after midnight. [s]
    days_mask : int array
        Trip days, bit 0 Monday … bit 6 Sunday (a trip belongs to its departure day).
    departure_s, arrival_s : numeric
        Local departure and arrival times; arrival ≤ departure is an overnight trip
        returning the next day (equal: never away). [s]

    Returns
    -------
    ndarray of bool
        True while away, departure inclusive, arrival exclusive.
    """
    day = np.asarray(weekday, dtype=np.int64)
    seconds = as_float_array(seconds_of_day)
    mask = np.asarray(days_mask, dtype=np.int64)
    departure = as_float_array(departure_s)
    arrival = as_float_array(arrival_s)
    trip_today = ((mask >> day) & 1) == 1
    trip_yesterday = ((mask >> ((day + 6) % 7)) & 1) == 1
    same_day = arrival > departure
    overnight = arrival < departure
    away_same_day = same_day & trip_today & (seconds >= departure) & (seconds < arrival)
    away_overnight = overnight & (
        (trip_today & (seconds >= departure)) | (trip_yesterday & (seconds < arrival))
    )
    return np.asarray(away_same_day | away_overnight, dtype=np.bool_)


def ev_trip_duration_s(
    zone_index: npt.ArrayLike,
    arrival_date_ordinal: npt.ArrayLike,
    *,
    departure_s: Numeric,
    arrival_s: Numeric,
    timezones: Sequence[str],
) -> FloatArray:
    """
    Real (UTC) duration of trips that arrive on given local dates, DST-correct.

    Parameters
    ----------
    zone_index : int array
        Zone of each vehicle's home.
    arrival_date_ordinal : int array
        Local date of arrival (``date.toordinal()``).
    departure_s, arrival_s : numeric
        Local wall-clock departure and arrival; arrival ≤ departure means the trip left
        the previous day. [s]
    timezones : sequence of str
        IANA zone names.

    Returns
    -------
    ndarray of float64
        UTC(arrival) - UTC(departure): an overnight 22:00-06:00 trip lasts 7 h on the
        night clocks spring forward and 9 h on the night they fall back. [s]

    References
    ----------
    PEP 615.
    """
    departure = as_float_array(departure_s)
    arrival = as_float_array(arrival_s)
    arrival_ordinal = np.asarray(arrival_date_ordinal, dtype=np.int64)
    departure_ordinal = arrival_ordinal - np.where(arrival <= departure, 1, 0)
    arrival_unix = local_wall_to_unix_s(zone_index, arrival_ordinal, arrival, timezones)
    departure_unix = local_wall_to_unix_s(zone_index, departure_ordinal, departure, timezones)
    return np.asarray(np.maximum(arrival_unix - departure_unix, 0.0), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class EvPlan:
    """
    Vehicles' state after the schedule and driving, before the home balance.

    Attributes
    ----------
    level_wh : ndarray
        Level after any driving energy reported on return. [Wh]
    mode : ndarray of int8
        Effective mode this tick (see the module table).
    away : ndarray of bool
        Away now.
    returned : ndarray of bool
        Came home this tick.
    driven_wh : ndarray
        Driving energy taken off on return (0 otherwise). [Wh]
    charge_request_w : ndarray
        Charging power the vehicle will draw (mode charging). [W]
    discharge_limit_w : ndarray
        Power V2H can deliver (mode discharging), for the home balance. [W]
    lower_wh, upper_wh : ndarray
        Reserve and target levels. [Wh]
    """

    level_wh: FloatArray
    mode: npt.NDArray[np.int8]
    away: BoolArray
    returned: BoolArray
    driven_wh: FloatArray
    charge_request_w: FloatArray
    discharge_limit_w: FloatArray
    lower_wh: FloatArray
    upper_wh: FloatArray


@dataclass(frozen=True, slots=True)
class EvStep:
    """
    Vehicles after one tick.

    Attributes
    ----------
    level_wh : ndarray
        Stored energy. [Wh]
    flow_w : ndarray
        Power exchanged with the home, positive charging. [W]
    mode : ndarray of int8
        Effective mode.
    away : ndarray of bool
        Away now.
    driven_wh : ndarray
        Driving energy reported this tick. [Wh]
    """

    level_wh: FloatArray
    flow_w: FloatArray
    mode: npt.NDArray[np.int8]
    away: BoolArray
    driven_wh: FloatArray


def ev_plan(
    level_wh: Numeric,
    *,
    away: npt.ArrayLike,
    was_away: npt.ArrayLike,
    trip_duration_s: Numeric,
    requested_mode: npt.ArrayLike,
    params: EvParams,
    dt_s: Numeric,
) -> EvPlan:
    """
    Apply the schedule, driving and mode rules to vehicles, ahead of the home balance.

    Parameters
    ----------
    level_wh : numeric
        Level last reported. [Wh]
    away : bool array
        Away now (``ev_is_away`` on this tick's local clock).
    was_away : bool array
        Away (offline) at the previous tick.
    trip_duration_s : numeric
        Duration of the trip that ends on this tick, used where ``was_away & ~away``. [s]
    requested_mode : int array
        The owner's mode for when the car is home (``offline`` counts as ``idle``).
    params : EvParams
        Vehicle parameters.
    dt_s : numeric
        Tick length. [s]

    Returns
    -------
    EvPlan
        Level after driving, effective mode and power limits.

    Notes
    -----
    driven = driving_wh_per_hour · trip_duration / 3600 on return, and
    level ← max(level - driven, 0); the level is clamped to [0, capacity] first.

    References
    ----------
    Linden & Reddy 2011 (state of charge); ISO 15118-20 (V2H).
    """
    capacity = np.maximum(as_float_array(params.battery_capacity_wh), 0.0)
    level = np.clip(np.nan_to_num(as_float_array(level_wh), nan=0.0), 0.0, capacity)
    away_now = np.asarray(away, dtype=np.bool_)
    returned = np.asarray(was_away, dtype=np.bool_) & ~away_now
    driven_wh = np.where(
        returned,
        np.maximum(as_float_array(params.driving_wh_per_hour), 0.0)
        * as_float_array(trip_duration_s)
        / 3600.0,
        0.0,
    )
    driven_wh = np.minimum(driven_wh, level)
    level = level - driven_wh
    lower = np.clip(as_float_array(params.reserve_soc), 0.0, 1.0) * capacity
    upper = np.clip(as_float_array(params.target_soc), 0.0, 1.0) * capacity
    charge_limit, discharge_limit = storage_power_limits_w(
        level,
        lower_wh=lower,
        upper_wh=upper,
        max_charge_w=params.max_charge_w,
        max_discharge_w=params.max_discharge_w,
        charge_efficiency=params.charge_efficiency,
        dt_s=dt_s,
    )
    requested = np.asarray(requested_mode, dtype=np.int8)
    can_charge = charge_limit > MIN_USEFUL_POWER_W
    can_discharge = discharge_limit > MIN_USEFUL_POWER_W
    home_mode = np.where(
        (requested == EV_MODE_CHARGING) & can_charge,
        EV_MODE_CHARGING,
        np.where((requested == EV_MODE_DISCHARGING) & can_discharge, EV_MODE_DISCHARGING, 0),
    )
    mode = np.where(away_now, EV_MODE_OFFLINE, home_mode).astype(np.int8)
    shape = np.broadcast_shapes(mode.shape, level.shape)
    charging = mode == EV_MODE_CHARGING
    discharging = mode == EV_MODE_DISCHARGING
    return EvPlan(
        level_wh=np.asarray(np.broadcast_to(level, shape), dtype=np.float64),
        mode=np.asarray(np.broadcast_to(mode, shape), dtype=np.int8),
        away=np.asarray(np.broadcast_to(away_now, shape), dtype=np.bool_),
        returned=np.asarray(np.broadcast_to(returned, shape), dtype=np.bool_),
        driven_wh=np.asarray(np.broadcast_to(driven_wh, shape), dtype=np.float64),
        charge_request_w=np.asarray(
            np.broadcast_to(np.where(charging, charge_limit, 0.0), shape), dtype=np.float64
        ),
        discharge_limit_w=np.asarray(
            np.broadcast_to(np.where(discharging, discharge_limit, 0.0), shape), dtype=np.float64
        ),
        lower_wh=np.asarray(np.broadcast_to(lower, shape), dtype=np.float64),
        upper_wh=np.asarray(np.broadcast_to(upper, shape), dtype=np.float64),
    )


def ev_complete(
    plan: EvPlan, *, params: EvParams, v2h_request_w: Numeric = 0.0, dt_s: Numeric
) -> EvStep:
    """
    Finish a tick for vehicles: charge as planned, discharge what the home asked for.

    Parameters
    ----------
    plan : EvPlan
        From ``ev_plan``.
    params : EvParams
        Vehicle parameters.
    v2h_request_w : numeric, default 0
        Discharge power the home wants from each vehicle (≥ 0, used in mode
        discharging, capped by ``plan.discharge_limit_w``). [W]
    dt_s : numeric
        Tick length. [s]

    Returns
    -------
    EvStep
        Levels, flows (positive charging), modes.

    References
    ----------
    Linden & Reddy 2011; see ``simulators.physics.battery.storage_step``.
    """
    request = np.where(
        plan.mode == EV_MODE_CHARGING,
        plan.charge_request_w,
        np.where(
            plan.mode == EV_MODE_DISCHARGING,
            -np.minimum(np.maximum(as_float_array(v2h_request_w), 0.0), plan.discharge_limit_w),
            0.0,
        ),
    )
    level, flow = storage_step(
        plan.level_wh,
        request,
        lower_wh=plan.lower_wh,
        upper_wh=plan.upper_wh,
        max_charge_w=params.max_charge_w,
        max_discharge_w=params.max_discharge_w,
        charge_efficiency=params.charge_efficiency,
        dt_s=dt_s,
    )
    return EvStep(
        level_wh=level,
        flow_w=flow,
        mode=plan.mode,
        away=plan.away,
        driven_wh=plan.driven_wh,
    )


def ev_tick(
    level_wh: Numeric,
    *,
    tick_at: datetime,
    timezones: Sequence[str],
    zone_index: npt.ArrayLike,
    params: EvParams,
    requested_mode: npt.ArrayLike,
    dt_s: float,
    previous_mode: npt.ArrayLike | None = None,
    v2h_request_w: Numeric = 0.0,
) -> EvStep:
    """
    Step vehicles by one tick on their own (without a home balance).

    Parameters
    ----------
    level_wh : numeric
        Level last reported. [Wh]
    tick_at : datetime
        Aware instant of the tick (the end of the step).
    timezones : sequence of str
        IANA zone names; ``zone_index`` points into it.
    zone_index : int array
        Each vehicle's home zone.
    params : EvParams
        Vehicle parameters.
    requested_mode : int array
        Owner's mode when home.
    dt_s : float
        Tick length. [s]
    previous_mode : int array or None, default None
        Mode reported last tick; ``offline`` means it was away. None derives "was away"
        from the schedule at ``tick_at - dt_s``.
    v2h_request_w : numeric, default 0
        Discharge wanted from vehicles in mode discharging. [W]

    Returns
    -------
    EvStep
        Levels, flows, modes, away flags and driven energy.

    References
    ----------
    PEP 615; Linden & Reddy 2011.
    """
    zones = np.asarray(zone_index, dtype=np.intp)
    clock = zone_clock(tick_at, timezones)
    weekday = clock.weekday[zones]
    seconds = clock.seconds_of_day[zones]
    away = ev_is_away(
        weekday,
        seconds,
        days_mask=params.days_mask,
        departure_s=params.departure_s,
        arrival_s=params.arrival_s,
    )
    if previous_mode is None:
        previous = zone_clock(tick_at - timedelta(seconds=dt_s), timezones)
        was_away = ev_is_away(
            previous.weekday[zones],
            previous.seconds_of_day[zones],
            days_mask=params.days_mask,
            departure_s=params.departure_s,
            arrival_s=params.arrival_s,
        )
    else:
        was_away = np.asarray(previous_mode) == EV_MODE_OFFLINE
    returned = np.asarray(was_away & ~away)
    trip_s = ev_returning_trip_duration_s(
        returned,
        zone_index=zones,
        date_ordinal=clock.date_ordinal[zones],
        params=params,
        timezones=timezones,
    )
    plan = ev_plan(
        level_wh,
        away=away,
        was_away=was_away,
        trip_duration_s=trip_s,
        requested_mode=requested_mode,
        params=params,
        dt_s=dt_s,
    )
    return ev_complete(plan, params=params, v2h_request_w=v2h_request_w, dt_s=dt_s)


def ev_returning_trip_duration_s(
    returned: npt.ArrayLike,
    *,
    zone_index: npt.ArrayLike,
    date_ordinal: npt.ArrayLike,
    params: EvParams,
    timezones: Sequence[str],
) -> FloatArray:
    """
    Trip durations for the vehicles that came home this tick (0 for the others).

    Parameters
    ----------
    returned : bool array
        Vehicles back this tick.
    zone_index : int array
        Home zone of each vehicle.
    date_ordinal : int array
        Local date of the tick for each vehicle.
    params : EvParams
        Vehicle parameters (departure and arrival times).
    timezones : sequence of str
        IANA zone names.

    Returns
    -------
    ndarray of float64
        Real trip duration where returned, else 0; zone lookups only for returners. [s]

    References
    ----------
    PEP 615.
    """
    back = np.asarray(returned, dtype=np.bool_)
    duration = np.zeros(back.shape, dtype=np.float64)
    if not back.any():
        return duration
    departure = np.broadcast_to(as_float_array(params.departure_s), back.shape)
    arrival = np.broadcast_to(as_float_array(params.arrival_s), back.shape)
    zones = np.broadcast_to(np.asarray(zone_index, dtype=np.int64), back.shape)
    ordinal = np.broadcast_to(np.asarray(date_ordinal, dtype=np.int64), back.shape)
    duration[back] = ev_trip_duration_s(
        zones[back],
        ordinal[back],
        departure_s=departure[back],
        arrival_s=arrival[back],
        timezones=timezones,
    )
    return duration


__all__ = [
    "ALL_DAYS_MASK",
    "EV_MODE_CHARGING",
    "EV_MODE_DISCHARGING",
    "EV_MODE_IDLE",
    "EV_MODE_NAMES",
    "EV_MODE_OFFLINE",
    "MIN_USEFUL_POWER_W",
    "WEEKDAYS_MASK",
    "EvParams",
    "EvPlan",
    "EvStep",
    "ZoneClock",
    "ev_complete",
    "ev_is_away",
    "ev_mode_codes",
    "ev_mode_names",
    "ev_plan",
    "ev_returning_trip_duration_s",
    "ev_tick",
    "ev_trip_duration_s",
    "local_wall_to_unix_s",
    "zone_clock",
]
