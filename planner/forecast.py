"""
Forecasts for the planner, per home and 15-minute interval, from the physics the farm
simulates with: solar from the sun and a cloud-cover forecast, base load from the home's
own history (the synthetic profile until it has one), the car's presence, driving and
departures from its weekly schedule, heating and cooling from the temperature forecast.

Interval ``t`` of a horizon starting at ``starts_at`` covers ``[starts_at + t·Δt,
starts_at + (t+1)·Δt)``; its value is taken at its midpoint (solar, schedule).

References
----------
.. [Hyn21] R. J. Hyndman and G. Athanasopoulos, *Forecasting: Principles and Practice*,
   3rd ed., OTexts, 2021, §5.2 (seasonal naive and mean methods), §5.8 (MAE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from planner.problem import INTERVAL_S, BoolArray, FloatArray
from simulators.physics.clouds import cloud_factor_from_cover
from simulators.physics.ev import EvParams, ev_is_away, zone_clock
from simulators.physics.home import base_load_w
from simulators.physics.solar import SolarPanelParams, solar_panel_power_w
from simulators.physics.thermal import air_conditioner_power_w, heater_power_w


def utc_datetime(at: datetime) -> datetime:
    """``at`` in UTC; a naive datetime is refused, never guessed."""
    if at.tzinfo is None or at.utcoffset() is None:
        msg = "a horizon starts at an aware datetime"
        raise ValueError(msg)
    return at.astimezone(UTC)


def interval_midpoints(starts_at: datetime, intervals: int, dt_s: float = INTERVAL_S) -> np.ndarray:
    """UTC midpoints of a horizon's intervals as ``datetime64[us]`` (T,)."""
    start = np.datetime64(utc_datetime(starts_at).replace(tzinfo=None), "us")
    offsets_us = ((np.arange(intervals) + 0.5) * dt_s * 1e6).astype(np.int64)
    return start + offsets_us.astype("timedelta64[us]")


def pv_forecast_w(
    *,
    latitude_deg: npt.ArrayLike,
    longitude_deg: npt.ArrayLike,
    panel: SolarPanelParams,
    home_index: npt.ArrayLike,
    homes: int,
    starts_at: datetime,
    intervals: int,
    cloud_cover: npt.ArrayLike,
    air_temperature_c: npt.ArrayLike | None = None,
    dt_s: float = INTERVAL_S,
) -> FloatArray:
    """
    Solar production of each home per interval: its panels summed.

    Parameters
    ----------
    latitude_deg, longitude_deg : numeric (P,)
        Each panel's place. [deg]
    panel : SolarPanelParams
        Fields (P,).
    home_index : int array (P,)
        Home of each panel, 0 ≤ index < homes.
    homes : int
        Number of homes.
    starts_at : datetime
        Aware start of the horizon.
    intervals : int
        T.
    cloud_cover : numeric (P, T) or (T,)
        Forecast cloud cover in [0, 1]. [-]
    air_temperature_c : numeric (P, T) or None
        Forecast air temperature for the module's derate. [°C]
    dt_s : float
        Interval. [s]

    Returns
    -------
    ndarray (H, T)
        Mean power at each interval's midpoint, the clear sky scaled by the cloud factor
        (Kasten & Czeplak). [W]
    """
    at = interval_midpoints(starts_at, intervals, dt_s)[None, :]
    lat = np.asarray(latitude_deg, dtype=np.float64)[:, None]
    lon = np.asarray(longitude_deg, dtype=np.float64)[:, None]
    column = SolarPanelParams(
        panel_area_m2=np.asarray(panel.panel_area_m2, dtype=np.float64)[:, None],
        efficiency=np.asarray(panel.efficiency, dtype=np.float64)[:, None],
        rated_power_w=np.asarray(panel.rated_power_w, dtype=np.float64)[:, None],
        tilt_deg=np.asarray(panel.tilt_deg, dtype=np.float64)[:, None],
        azimuth_deg=np.asarray(panel.azimuth_deg, dtype=np.float64)[:, None],
    )
    power = solar_panel_power_w(
        lat,
        lon,
        at,
        column,
        cloud_factor=cloud_factor_from_cover(cloud_cover),
        air_temperature_c=air_temperature_c,
    )
    index = np.asarray(home_index, dtype=np.intp)
    power = np.broadcast_to(power, (len(index), intervals))
    by_home = np.zeros((homes, intervals))
    np.add.at(by_home, index, power)
    return by_home


def base_load_forecast_w(
    history_w: npt.ArrayLike,
    *,
    mean_base_load_w: npt.ArrayLike,
    local_seconds_of_day: npt.ArrayLike,
) -> FloatArray:
    """
    Base load per interval: the mean of the same weekday and time over past weeks.

    Parameters
    ----------
    history_w : numeric (H, N, T)
        The home's measured base load at the same local weekday and time in each of the
        last N weeks; NaN where unknown. [W]
    mean_base_load_w : numeric (H,)
        The home's profile mean, for the cold start. [W]
    local_seconds_of_day : numeric (H, T)
        Local wall-clock time of each interval's midpoint. [s]

    Returns
    -------
    ndarray (H, T)
        The mean of the known weeks; the synthetic profile (``base_load_w``) where no
        week is known. [W]
    """
    history = np.asarray(history_w, dtype=np.float64)
    known = np.isfinite(history)
    count = known.sum(axis=1)
    total = np.where(known, history, 0.0).sum(axis=1)
    mean = np.divide(total, count, out=np.zeros(total.shape), where=count > 0)
    profile = base_load_w(
        np.asarray(mean_base_load_w, dtype=np.float64)[:, None], local_seconds_of_day
    )
    return np.asarray(np.where(count > 0, mean, profile))


@dataclass(frozen=True, slots=True)
class VehicleForecast:
    """A car's horizon (H, T): plugged in at home, energy driven, departure targets."""

    home: BoolArray
    driving_wh: FloatArray
    target_soc: FloatArray
    local_seconds_of_day: FloatArray


def local_clock(
    starts_at: datetime,
    intervals: int,
    *,
    timezones: Sequence[str],
    zone_index: npt.ArrayLike,
    dt_s: float = INTERVAL_S,
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Local weekday and seconds of day (H, T) at each interval's midpoint, per home's zone."""
    zones = np.asarray(zone_index, dtype=np.intp)
    start = utc_datetime(starts_at)
    weekday = np.empty((len(timezones), intervals), dtype=np.int64)
    seconds = np.empty((len(timezones), intervals))
    for t in range(intervals):
        clock = zone_clock(start + timedelta(seconds=(t + 0.5) * dt_s), timezones)
        weekday[:, t] = clock.weekday
        seconds[:, t] = clock.seconds_of_day
    return weekday[zones], seconds[zones]


def vehicle_forecast(
    starts_at: datetime,
    intervals: int,
    *,
    timezones: Sequence[str],
    zone_index: npt.ArrayLike,
    params: EvParams,
    dt_s: float = INTERVAL_S,
) -> VehicleForecast:
    """
    Where each car is over the horizon, from its weekly schedule in its home's local time.

    Parameters
    ----------
    starts_at : datetime
        Aware start of the horizon.
    intervals : int
        T.
    timezones : sequence of str
        IANA zones; ``zone_index`` (H,) points into them.
    zone_index : int array (H,)
        Each car's home zone.
    params : EvParams
        Fields (H,): the schedule, ``driving_wh_per_hour`` and ``target_soc``.
    dt_s : float
        Interval. [s]

    Returns
    -------
    VehicleForecast
        ``home`` where the schedule (``ev_is_away``, wall clock, so DST-correct) says the
        car is in at the interval's midpoint; ``driving_wh`` = driving_wh_per_hour·Δt in
        each interval away; ``target_soc`` the owner's target at the last interval at home
        before each departure, NaN elsewhere.
    """
    weekday, seconds = local_clock(
        starts_at, intervals, timezones=timezones, zone_index=zone_index, dt_s=dt_s
    )

    def column(value: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return np.asarray(value, dtype=np.float64).reshape(-1, 1)

    away = ev_is_away(
        weekday,
        seconds,
        days_mask=np.asarray(params.days_mask, dtype=np.int64).reshape(-1, 1),
        departure_s=column(params.departure_s),
        arrival_s=column(params.arrival_s),
    )
    home = ~away
    driving = np.where(away, column(params.driving_wh_per_hour) * dt_s / 3600.0, 0.0)
    leaves = np.zeros_like(home)
    leaves[:, :-1] = home[:, :-1] & away[:, 1:]
    target = np.where(leaves, column(params.target_soc), np.nan)
    return VehicleForecast(
        home=home,
        driving_wh=np.asarray(driving),
        target_soc=np.asarray(target),
        local_seconds_of_day=seconds,
    )


def thermal_demand_w(
    outdoor_c: npt.ArrayLike,
    *,
    heater_rated_w: npt.ArrayLike,
    heating_setpoint_c: npt.ArrayLike,
    ac_rated_w: npt.ArrayLike,
    cooling_setpoint_c: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """
    Heating and cooling power (H, T) that holds each setpoint against the forecast outdoor
    temperature: the physics' duty cycle (load ∝ the indoor-outdoor difference), which is
    also the steady state of the planner's building model (``problem.thermal_gains``). [W]
    """
    outdoor = np.asarray(outdoor_c, dtype=np.float64)

    def column(value: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return np.asarray(value, dtype=np.float64).reshape(-1, 1)

    heating = heater_power_w(
        outdoor, rated_power_w=column(heater_rated_w), setpoint_c=column(heating_setpoint_c)
    )
    cooling = air_conditioner_power_w(
        outdoor, rated_power_w=column(ac_rated_w), setpoint_c=column(cooling_setpoint_c)
    )
    return heating, cooling


def mean_absolute_error(forecast: npt.ArrayLike, actual: npt.ArrayLike) -> FloatArray:
    """
    MAE per home over the intervals both know: mean |forecast - actual| along the last
    axis, NaN pairs left out; NaN for a home with no pair. [same unit as the inputs]
    """
    error = np.abs(np.asarray(forecast, dtype=np.float64) - np.asarray(actual, dtype=np.float64))
    known = np.isfinite(error)
    count = known.sum(axis=-1)
    total = np.where(known, error, 0.0).sum(axis=-1)
    return np.asarray(np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0))
