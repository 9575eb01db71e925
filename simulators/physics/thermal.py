"""
Outdoor temperature and the load of heaters and air conditioners.

The outdoor temperature comes from weather where it is known; elsewhere from a
deterministic climatology of latitude, day of year and local mean solar time: a
zonal annual mean, a seasonal cosine (warmest about 19 July in the north, 17 January
in the south, a 30-day lag after the solstice) and a diurnal cosine peaking at 15:00
solar time. It is a plausible, smooth, reproducible driver for a simulation, not a
forecast.

A thermostat cycling around its setpoint draws, averaged over the tick, its rated
power times a duty cycle; in steady state the duty cycle equals the building's heat
loss (or gain) over the appliance's capacity, which is proportional to the
indoor-outdoor difference (the degree-day idea). The proportionality is set by a
design difference at which the appliance runs flat out.

References
----------
.. [ASHRAE] ASHRAE Handbook — Fundamentals, 2021, ch. 14 (climatic design) and ch. 19
   (energy estimating: degree-day and bin methods, load ∝ UA·ΔT).
.. [PL81] W. J. Parton and J. A. Logan, "A model for diurnal variation in soil and air
   temperature", Agricultural Meteorology 23, 205-216, 1981 (diurnal shape, here reduced
   to a single cosine with a 15:00 maximum).
.. [Leg90] D. R. Legates and C. J. Willmott, "Mean seasonal and spatial variability in
   global surface air temperature", Theoretical and Applied Climatology 41, 11-21, 1990
   (zonal means the annual-mean and amplitude fits are eyeballed against).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.physics._types import SECONDS_PER_DAY, FloatArray, Instant, Numeric, as_float_array
from simulators.physics._types import unix_seconds as _unix_seconds

_DAYS_PER_YEAR = 365.2425
_WARMEST_DAY_OF_YEAR_NORTH = 200.0
_DIURNAL_PEAK_SOLAR_HOUR = 15.0
_DIURNAL_HALF_RANGE_C = 5.0


@dataclass(frozen=True, slots=True)
class ThermostatParams:
    """
    A heater or an air conditioner (fields broadcast).

    Attributes
    ----------
    rated_power_w : numeric
        Electrical power at full duty. [W]
    setpoint_c : numeric
        Thermostat setpoint. [°C]
    design_delta_c : numeric
        Indoor-outdoor difference at which the appliance runs all the time. [°C]
    """

    rated_power_w: Numeric
    setpoint_c: Numeric
    design_delta_c: Numeric


def _day_of_year(unix_s: FloatArray) -> FloatArray:
    """Fractional day of the year, 0 at 1 January 00:00 UTC (mean Gregorian year)."""
    return np.mod(unix_s / SECONDS_PER_DAY, _DAYS_PER_YEAR)


def outdoor_temperature_model_c(
    latitude_deg: Numeric, longitude_deg: Numeric, at: Instant
) -> FloatArray:
    """
    Deterministic outdoor air temperature from place and time.

    Parameters
    ----------
    latitude_deg : numeric
        Latitude, north positive. [deg]
    longitude_deg : numeric
        Longitude, east positive (sets local mean solar time). [deg]
    at : datetime, numpy.datetime64, or a sequence/array of them
        Instants (aware, or datetime64 as UTC); broadcast against the place.

    Returns
    -------
    ndarray
        T = T_mean(φ) + A(φ)·sgn(φ)·cos(2π (d - 200) / 365.2425)
        + 5 °C·cos(2π (h - 15) / 24), with T_mean = -15 + 42 cos φ (27 °C at the
        equator, 10.6 °C at 52.5°), A = 0.18 |φ| (9.5 K at Berlin), d the day of the
        year and h the local mean solar hour (UTC hour + longitude / 15). [°C]

    References
    ----------
    Legates & Willmott 1990 (zonal climatology); Parton & Logan 1981 (diurnal cycle).
    """
    latitude = as_float_array(latitude_deg)
    seconds = _unix_seconds(at)
    # 1970-01-01 is day 0; 365.2425 d is the mean Gregorian year, so no drift over centuries.
    day = _day_of_year(seconds)
    solar_hour = np.mod(
        np.mod(seconds, SECONDS_PER_DAY) / 3600.0 + as_float_array(longitude_deg) / 15.0, 24.0
    )
    annual_mean_c = -15.0 + 42.0 * np.cos(np.radians(latitude))
    seasonal_c = (
        0.18 * latitude * np.cos(2.0 * np.pi * (day - _WARMEST_DAY_OF_YEAR_NORTH) / _DAYS_PER_YEAR)
    )
    diurnal_c = _DIURNAL_HALF_RANGE_C * np.cos(
        2.0 * np.pi * (solar_hour - _DIURNAL_PEAK_SOLAR_HOUR) / 24.0
    )
    return np.asarray(annual_mean_c + seasonal_c + diurnal_c, dtype=np.float64)


def outdoor_temperature_c(
    latitude_deg: Numeric,
    longitude_deg: Numeric,
    at: Instant,
    *,
    weather_temperature_c: Numeric | None = None,
) -> FloatArray:
    """
    Outdoor temperature: the weather's where given (not NaN), else the model's.

    Parameters
    ----------
    latitude_deg, longitude_deg : numeric
        Place. [deg]
    at : datetime, numpy.datetime64, or a sequence/array of them
        Instants.
    weather_temperature_c : numeric or None, default None
        Observed temperature; NaN elements (or None) use ``outdoor_temperature_model_c``. [°C]

    Returns
    -------
    ndarray
        Outdoor air temperature. [°C]

    References
    ----------
    See ``outdoor_temperature_model_c``.
    """
    modelled = outdoor_temperature_model_c(latitude_deg, longitude_deg, at)
    if weather_temperature_c is None:
        return modelled
    observed = as_float_array(weather_temperature_c)
    return np.asarray(np.where(np.isnan(observed), modelled, observed), dtype=np.float64)


def heating_duty(
    outdoor_c: Numeric, *, setpoint_c: Numeric, design_delta_c: Numeric = 20.0
) -> FloatArray:
    """
    Time-averaged duty cycle of a heater held at a setpoint.

    Parameters
    ----------
    outdoor_c : numeric
        Outdoor temperature. [°C]
    setpoint_c : numeric
        Thermostat setpoint. [°C]
    design_delta_c : numeric, default 20
        Setpoint - outdoor at which the heater runs continuously. [°C]

    Returns
    -------
    ndarray
        clip((setpoint - outdoor) / design_delta, 0, 1). [-]

    References
    ----------
    ASHRAE Handbook — Fundamentals 2021, ch. 19 (heating load ∝ UA (T_in - T_out)).
    """
    delta = as_float_array(setpoint_c) - as_float_array(outdoor_c)
    return _duty(delta, design_delta_c)


def cooling_duty(
    outdoor_c: Numeric, *, setpoint_c: Numeric, design_delta_c: Numeric = 12.0
) -> FloatArray:
    """
    Time-averaged duty cycle of an air conditioner held at a setpoint.

    Parameters
    ----------
    outdoor_c : numeric
        Outdoor temperature. [°C]
    setpoint_c : numeric
        Thermostat setpoint. [°C]
    design_delta_c : numeric, default 12
        Outdoor - setpoint at which the unit runs continuously. [°C]

    Returns
    -------
    ndarray
        clip((outdoor - setpoint) / design_delta, 0, 1). [-]

    References
    ----------
    ASHRAE Handbook — Fundamentals 2021, ch. 19 (cooling load ∝ UA (T_out - T_in)).
    """
    delta = as_float_array(outdoor_c) - as_float_array(setpoint_c)
    return _duty(delta, design_delta_c)


def _duty(delta_c: FloatArray, design_delta_c: Numeric) -> FloatArray:
    design = as_float_array(design_delta_c)
    delta, design = np.broadcast_arrays(delta_c, design)
    ratio = np.divide(delta, design, out=np.where(delta > 0.0, 1.0, 0.0), where=design > 0.0)
    return np.asarray(np.clip(ratio, 0.0, 1.0), dtype=np.float64)


def heater_power_w(
    outdoor_c: Numeric,
    *,
    rated_power_w: Numeric,
    setpoint_c: Numeric,
    design_delta_c: Numeric = 20.0,
    enabled: Numeric = True,
) -> FloatArray:
    """
    Average electrical power of heaters over a tick.

    Parameters
    ----------
    outdoor_c : numeric
        Outdoor temperature. [°C]
    rated_power_w : numeric
        Power at full duty. [W]
    setpoint_c : numeric
        Setpoint. [°C]
    design_delta_c : numeric, default 20
        Difference for full duty. [°C]
    enabled : bool array, default True
        Switched on.

    Returns
    -------
    ndarray
        P = P_rated · heating_duty · enabled. [W]

    References
    ----------
    ASHRAE Handbook — Fundamentals 2021, ch. 19.
    """
    duty = heating_duty(outdoor_c, setpoint_c=setpoint_c, design_delta_c=design_delta_c)
    return _power(duty, rated_power_w, enabled)


def air_conditioner_power_w(
    outdoor_c: Numeric,
    *,
    rated_power_w: Numeric,
    setpoint_c: Numeric,
    design_delta_c: Numeric = 12.0,
    enabled: Numeric = True,
) -> FloatArray:
    """
    Average electrical power of air conditioners over a tick.

    Parameters
    ----------
    outdoor_c : numeric
        Outdoor temperature. [°C]
    rated_power_w : numeric
        Power at full duty. [W]
    setpoint_c : numeric
        Setpoint. [°C]
    design_delta_c : numeric, default 12
        Difference for full duty. [°C]
    enabled : bool array, default True
        Switched on.

    Returns
    -------
    ndarray
        P = P_rated · cooling_duty · enabled. [W]

    References
    ----------
    ASHRAE Handbook — Fundamentals 2021, ch. 19.
    """
    duty = cooling_duty(outdoor_c, setpoint_c=setpoint_c, design_delta_c=design_delta_c)
    return _power(duty, rated_power_w, enabled)


def _power(duty: FloatArray, rated_power_w: Numeric, enabled: Numeric) -> FloatArray:
    on = np.asarray(enabled, dtype=np.bool_)
    rated = np.maximum(as_float_array(rated_power_w), 0.0)
    return np.asarray(np.where(on, rated * duty, 0.0), dtype=np.float64)
