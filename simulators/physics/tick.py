"""
Step a whole population of homes and devices by one tick, vectorised.

This is the entry point the simulation farm calls (one shard of homes per call) and
the one ``bench/physics.py`` times. It is pure: no Django, Celery, Redis, clock or
global random state. Given the same population, levels, ``tick_at``, ``dt_s`` and
``seed`` it returns bit-identical arrays in any process.

Layout of the inputs
--------------------
* ``Homes``: one row per home (index 0..H-1): latitude, longitude, an index into a
  small tuple of IANA zone names, mean base load, and optional per-home weather
  (cloud cover, temperature; NaN = unknown → deterministic model).
* One array bundle per device kind (``SolarPanels``, ``Generators``, ``Batteries``,
  ``ElectricVehicles``, and ``Thermostats`` for heaters and air conditioners): one
  row per device, each with its ``device_id`` (hash key of its deterministic draws)
  and ``home_index`` (row of its home in ``Homes``). Build them once per shard and
  reuse them; only the storage levels change between ticks.
* ``StorageLevels``: the levels and EV modes reported at the previous tick.

What one tick does
------------------
1. Sun position once per home (the instant-only NOAA terms once per tick), clear-sky
   irradiance per home, plane-of-array and panel power per panel, with a cloud factor
   from weather or the seeded draw and a NOCT temperature derate.
2. Generators, heaters and air conditioners from their rules.
3. Local clocks once per distinct zone; base load per home; the vehicles' schedule,
   driving energy on return, and modes.
4. Per home (``np.bincount`` over ``home_index``): production, consumption, the
   vehicles' charging, then self-consumption dispatch of batteries and V2H vehicles,
   then net grid flow and self-sufficiency (``simulators.physics.home``).

Units and signs are those of ARCHITECTURE.md: powers in W, energies in Wh, flows
positive when charging, ``net_grid_flow_w`` positive when importing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from simulators.physics._types import (
    BoolArray,
    FloatArray,
    IntArray,
    unix_whole_seconds,
    utc_datetime,
)
from simulators.physics.battery import battery_bounds_wh, storage_power_limits_w, storage_step
from simulators.physics.clouds import cloud_factor
from simulators.physics.ev import (
    EV_MODE_CHARGING,
    EV_MODE_DISCHARGING,
    EV_MODE_IDLE,
    EV_MODE_OFFLINE,
    MIN_USEFUL_POWER_W,
    EvParams,
    EvPlan,
    ev_complete,
    ev_is_away,
    ev_plan,
    ev_returning_trip_duration_s,
    zone_clock,
)
from simulators.physics.generator import generator_power_w
from simulators.physics.home import (
    base_load_w,
    home_balance,
    self_consumption_requests_w,
    sum_by_home,
)
from simulators.physics.solar import (
    air_mass_absolute,
    air_mass_relative,
    apparent_elevation_deg,
    clear_sky_ineichen,
    extraterrestrial_irradiance_w_m2,
    panel_power_w,
    plane_of_array_irradiance_w_m2,
    pressure_from_altitude_pa,
    solar_position_from_ephemeris,
    sun_ephemeris,
    temperature_derate,
)
from simulators.physics.thermal import (
    air_conditioner_power_w,
    heater_power_w,
    outdoor_temperature_c,
)

Int8Array = npt.NDArray[np.int8]


def _floats(values: npt.ArrayLike) -> FloatArray:
    return np.ascontiguousarray(values, dtype=np.float64)


def _ints(values: npt.ArrayLike) -> IntArray:
    return np.ascontiguousarray(values, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Homes:
    """
    Homes of a shard, one row each.

    Attributes
    ----------
    latitude_deg, longitude_deg : ndarray
        Place. [deg]
    timezone_index : ndarray of int64
        Index of the home's IANA zone in ``timezones``.
    base_load_w : ndarray
        Daily mean of the base load. [W]
    timezones : tuple of str
        Distinct IANA zone names of the shard.
    altitude_m : ndarray or None
        Altitude (pressure for refraction and air mass); None means sea level. [m]
    weather_cloud_cover : ndarray or None
        Cloud cover in [0, 1]; NaN or None falls back to the deterministic draw. [-]
    weather_temperature_c : ndarray or None
        Outdoor temperature; NaN or None falls back to the climatology model. [°C]
    linke_turbidity : float
        Linke turbidity for the clear-sky model. [-]
    measured_load_w : ndarray or None
        Load measured by the home's physical meters this tick, added to consumption as it is
        (no profile); None means none. [W]
    """

    latitude_deg: FloatArray
    longitude_deg: FloatArray
    timezone_index: IntArray
    base_load_w: FloatArray
    timezones: tuple[str, ...]
    altitude_m: FloatArray | None = None
    weather_cloud_cover: FloatArray | None = None
    weather_temperature_c: FloatArray | None = None
    linke_turbidity: float = 3.0
    measured_load_w: FloatArray | None = None

    @property
    def count(self) -> int:
        """Number of homes."""
        return int(self.latitude_deg.shape[0])


@dataclass(frozen=True, slots=True)
class SolarPanels:
    """
    Solar panels, one row each.

    Attributes
    ----------
    device_id, home_index : ndarray of int64
        Identifier (hash key) and home row.
    panel_area_m2 : ndarray
        Area. [m²]
    efficiency : ndarray
        Module efficiency. [-]
    rated_power_w : ndarray
        Clipping power. [W]
    tilt_deg, azimuth_deg : ndarray
        Orientation; azimuth clockwise from north. [deg]
    """

    device_id: IntArray
    home_index: IntArray
    panel_area_m2: FloatArray
    efficiency: FloatArray
    rated_power_w: FloatArray
    tilt_deg: FloatArray
    azimuth_deg: FloatArray

    @classmethod
    def empty(cls) -> SolarPanels:
        """No panels."""
        e, i = np.empty(0), np.empty(0, dtype=np.int64)
        return cls(i, i, e, e, e, e, e)


@dataclass(frozen=True, slots=True)
class Generators:
    """
    Generators, one row each.

    Attributes
    ----------
    device_id, home_index : ndarray of int64
        Identifier and home row.
    rated_power_w : ndarray
        Rated output. [W]
    running : ndarray of bool
        Running flags.
    """

    device_id: IntArray
    home_index: IntArray
    rated_power_w: FloatArray
    running: BoolArray

    @classmethod
    def empty(cls) -> Generators:
        """No generators."""
        i = np.empty(0, dtype=np.int64)
        return cls(i, i, np.empty(0), np.empty(0, dtype=np.bool_))


@dataclass(frozen=True, slots=True)
class Batteries:
    """
    Stationary batteries, one row each.

    Attributes
    ----------
    device_id, home_index : ndarray of int64
        Identifier and home row.
    capacity_wh : ndarray
        Capacity. [Wh]
    max_charge_w, max_discharge_w : ndarray
        Power limits. [W]
    round_trip_efficiency : ndarray
        Round-trip efficiency, all taken on charge. [-]
    min_soc : ndarray
        Discharge floor. [-]
    """

    device_id: IntArray
    home_index: IntArray
    capacity_wh: FloatArray
    max_charge_w: FloatArray
    max_discharge_w: FloatArray
    round_trip_efficiency: FloatArray
    min_soc: FloatArray

    @classmethod
    def empty(cls) -> Batteries:
        """No batteries."""
        e, i = np.empty(0), np.empty(0, dtype=np.int64)
        return cls(i, i, e, e, e, e, e)


@dataclass(frozen=True, slots=True)
class ElectricVehicles:
    """
    Electric vehicles, one row each.

    Attributes
    ----------
    device_id, home_index : ndarray of int64
        Identifier and home row.
    battery_capacity_wh : ndarray
        Capacity. [Wh]
    max_charge_w, max_discharge_w : ndarray
        Charger and V2H limits. [W]
    charge_efficiency : ndarray
        Fraction of charged energy stored. [-]
    target_soc, reserve_soc : ndarray
        Charging target and V2H reserve. [-]
    driving_wh_per_hour : ndarray
        Energy per hour away. [Wh/h]
    days_mask : ndarray of int64
        Trip days, bit 0 Monday … bit 6 Sunday.
    departure_s, arrival_s : ndarray
        Local departure and arrival, seconds after midnight. [s]
    requested_mode : ndarray of int8
        Owner's mode when home (``simulators.physics.ev`` codes).
    """

    device_id: IntArray
    home_index: IntArray
    battery_capacity_wh: FloatArray
    max_charge_w: FloatArray
    max_discharge_w: FloatArray
    charge_efficiency: FloatArray
    target_soc: FloatArray
    reserve_soc: FloatArray
    driving_wh_per_hour: FloatArray
    days_mask: IntArray
    departure_s: FloatArray
    arrival_s: FloatArray
    requested_mode: Int8Array

    @classmethod
    def empty(cls) -> ElectricVehicles:
        """No vehicles."""
        e, i = np.empty(0), np.empty(0, dtype=np.int64)
        return cls(i, i, e, e, e, e, e, e, e, i, e, e, np.empty(0, dtype=np.int8))

    def params(self) -> EvParams:
        """The vehicles' parameters as an ``EvParams`` bundle of arrays."""
        return EvParams(
            battery_capacity_wh=self.battery_capacity_wh,
            max_charge_w=self.max_charge_w,
            max_discharge_w=self.max_discharge_w,
            charge_efficiency=self.charge_efficiency,
            target_soc=self.target_soc,
            reserve_soc=self.reserve_soc,
            driving_wh_per_hour=self.driving_wh_per_hour,
            days_mask=self.days_mask,
            departure_s=self.departure_s,
            arrival_s=self.arrival_s,
        )


@dataclass(frozen=True, slots=True)
class Thermostats:
    """
    Heaters or air conditioners, one row each.

    Attributes
    ----------
    device_id, home_index : ndarray of int64
        Identifier and home row.
    rated_power_w : ndarray
        Power at full duty. [W]
    setpoint_c : ndarray
        Setpoint. [°C]
    enabled : ndarray of bool
        Switched on.
    design_delta_c : ndarray or None
        Indoor-outdoor difference for full duty; None uses 20 K (heaters) or 12 K (air
        conditioners). [°C]
    """

    device_id: IntArray
    home_index: IntArray
    rated_power_w: FloatArray
    setpoint_c: FloatArray
    enabled: BoolArray
    design_delta_c: FloatArray | None = None

    @classmethod
    def empty(cls) -> Thermostats:
        """No appliances."""
        e, i = np.empty(0), np.empty(0, dtype=np.int64)
        return cls(i, i, e, e, np.empty(0, dtype=np.bool_))


@dataclass(frozen=True, slots=True)
class Population:
    """
    Everything a shard simulates: homes and their devices, grouped by kind.

    Attributes
    ----------
    homes : Homes
    solar : SolarPanels
    generators : Generators
    batteries : Batteries
    vehicles : ElectricVehicles
    heaters : Thermostats
    air_conditioners : Thermostats
    """

    homes: Homes
    solar: SolarPanels = field(default_factory=SolarPanels.empty)
    generators: Generators = field(default_factory=Generators.empty)
    batteries: Batteries = field(default_factory=Batteries.empty)
    vehicles: ElectricVehicles = field(default_factory=ElectricVehicles.empty)
    heaters: Thermostats = field(default_factory=Thermostats.empty)
    air_conditioners: Thermostats = field(default_factory=Thermostats.empty)


@dataclass(frozen=True, slots=True)
class StorageLevels:
    """
    Storage state carried from one tick to the next.

    Attributes
    ----------
    battery_level_wh : ndarray
        One per battery row. [Wh]
    ev_level_wh : ndarray
        One per vehicle row. [Wh]
    ev_mode : ndarray of int8 or None
        Modes reported last tick (``offline`` = was away). None derives "was away" from
        the schedule at ``tick_at - dt_s`` (fine when no tick was missed).
    """

    battery_level_wh: FloatArray
    ev_level_wh: FloatArray
    ev_mode: Int8Array | None = None


@dataclass(frozen=True, slots=True)
class Dispatch:
    """
    Setpoints a plan gives the devices for this tick, one per device row of each kind; NaN
    where a device follows its rule (thermostat, owner's car mode, self-consumption).

    Attributes
    ----------
    battery_w, vehicle_w : ndarray
        Net storage power, positive charging; a battery may charge from the grid and
        discharge into the home, a car at home charges or (V2H, where its charger can)
        discharges, each within its power and state-of-charge limits. [W]
    heater_w, air_conditioner_w : ndarray
        Electrical power, clipped to [0, rating] (0 when switched off). [W]
    generator_on : ndarray
        1 to run, 0 to stop. [-]
    """

    battery_w: FloatArray
    vehicle_w: FloatArray
    heater_w: FloatArray
    air_conditioner_w: FloatArray
    generator_on: FloatArray

    @classmethod
    def follow_rules(cls, population: Population) -> Dispatch:
        """No setpoint for any device: every device follows its rule."""

        def none(count: int) -> FloatArray:
            return np.full(count, np.nan)

        return cls(
            battery_w=none(population.batteries.device_id.shape[0]),
            vehicle_w=none(population.vehicles.device_id.shape[0]),
            heater_w=none(population.heaters.device_id.shape[0]),
            air_conditioner_w=none(population.air_conditioners.device_id.shape[0]),
            generator_on=none(population.generators.device_id.shape[0]),
        )


@dataclass(frozen=True, slots=True)
class StorageResult:
    """
    Storage devices after a tick.

    Attributes
    ----------
    level_wh : ndarray
        Stored energy. [Wh]
    flow_w : ndarray
        Power, positive charging; this is also the device's ``power_w``. [W]
    mode : ndarray of int8
        ``simulators.physics.ev`` codes; batteries: charging / discharging / idle by flow sign.
    away : ndarray of bool
        Vehicles away (always False for batteries).
    driven_wh : ndarray
        Driving energy reported this tick (vehicles; 0 for batteries). [Wh]
    """

    level_wh: FloatArray
    flow_w: FloatArray
    mode: Int8Array
    away: BoolArray
    driven_wh: FloatArray

    @property
    def power_w(self) -> FloatArray:
        """Same as ``flow_w``. [W]"""
        return self.flow_w


@dataclass(frozen=True, slots=True)
class HomeTotals:
    """
    Per-home results of a tick, one row per home.

    Attributes
    ----------
    production_w : ndarray
        Solar + generators. [W]
    consumption_w : ndarray
        Base load + heaters + air conditioners. [W]
    storage_flow_w : ndarray
        Batteries + vehicles, positive charging. [W]
    net_grid_flow_w : ndarray
        consumption + storage_flow - production; > 0 import. [W]
    self_sufficiency : ndarray
        See ``simulators.physics.home``. [-]
    storage_level_wh : ndarray
        Sum of battery levels and the levels of vehicles at home. [Wh]
    storage_capacity_wh : ndarray
        Sum of battery capacities and the capacities of vehicles at home. [Wh]
    base_load_w : ndarray
        Base-load part of consumption. [W]
    outdoor_temperature_c : ndarray
        Outdoor temperature used. [°C]
    """

    production_w: FloatArray
    consumption_w: FloatArray
    storage_flow_w: FloatArray
    net_grid_flow_w: FloatArray
    self_sufficiency: FloatArray
    storage_level_wh: FloatArray
    storage_capacity_wh: FloatArray
    base_load_w: FloatArray
    outdoor_temperature_c: FloatArray


@dataclass(frozen=True, slots=True)
class TickResult:
    """
    Everything one tick produced.

    Attributes
    ----------
    tick_at : datetime
        The tick instant, UTC.
    solar_power_w, generator_power_w, heater_power_w, air_conditioner_power_w : ndarray
        Per device row of each kind. [W]
    batteries, vehicles : StorageResult
        Per device row.
    homes : HomeTotals
        Per home row.
    """

    tick_at: datetime
    solar_power_w: FloatArray
    generator_power_w: FloatArray
    heater_power_w: FloatArray
    air_conditioner_power_w: FloatArray
    batteries: StorageResult
    vehicles: StorageResult
    homes: HomeTotals


def home_solar_geometry(
    homes: Homes, tick_at: datetime
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """
    Apparent sun and clear-sky irradiance at every home for one instant.

    Parameters
    ----------
    homes : Homes
        The homes.
    tick_at : datetime
        Aware instant.

    Returns
    -------
    apparent_zenith_deg, apparent_elevation_deg, azimuth_deg, ghi_w_m2, dni_w_m2, dhi_w_m2
        One value per home. [deg], [W/m²]

    Notes
    -----
    The instant-only terms of the NOAA algorithm (declination, equation of time, sun
    distance) are computed once; only the hour angle and the spherical triangle run
    per home. Refraction at 12 °C and the altitude's standard pressure.

    References
    ----------
    NOAA/Meeus; Reda & Andreas 2004; Kasten & Young 1989; Ineichen & Perez 2002.
    """
    ephemeris = sun_ephemeris(tick_at)
    position = solar_position_from_ephemeris(homes.latitude_deg, homes.longitude_deg, ephemeris)
    altitude = np.zeros(1) if homes.altitude_m is None else homes.altitude_m
    pressure = pressure_from_altitude_pa(altitude)
    elevation = apparent_elevation_deg(position.elevation_deg, pressure, 12.0)
    zenith = 90.0 - elevation
    clear = clear_sky_ineichen(
        zenith,
        air_mass_absolute(air_mass_relative(zenith), pressure),
        linke_turbidity=homes.linke_turbidity,
        altitude_m=altitude,
        dni_extra_w_m2=extraterrestrial_irradiance_w_m2(ephemeris.earth_sun_distance_au),
    )
    return zenith, elevation, position.azimuth_deg, clear.ghi_w_m2, clear.dni_w_m2, clear.dhi_w_m2


def _cloud_cover_for(homes: Homes, home_index: IntArray) -> FloatArray | None:
    if homes.weather_cloud_cover is None:
        return None
    return homes.weather_cloud_cover[home_index]


def _vehicle_was_away(
    vehicles: ElectricVehicles,
    homes: Homes,
    params: EvParams,
    tick_at: datetime,
    dt_s: float,
    previous_mode: Int8Array | None,
) -> BoolArray:
    if previous_mode is not None:
        return np.asarray(previous_mode == EV_MODE_OFFLINE)
    previous = zone_clock(tick_at - timedelta(seconds=dt_s), homes.timezones)
    zones = homes.timezone_index[vehicles.home_index]
    return ev_is_away(
        previous.weekday[zones],
        previous.seconds_of_day[zones],
        days_mask=params.days_mask,
        departure_s=params.departure_s,
        arrival_s=params.arrival_s,
    )


def _appliance_setpoints(
    rule_w: FloatArray, setpoint_w: FloatArray, appliances: Thermostats
) -> FloatArray:
    """The rule's power, or the setpoint within [0, rating] where there is one (0 when off)."""
    planned = np.clip(np.nan_to_num(setpoint_w), 0.0, appliances.rated_power_w)
    return np.where(
        np.isfinite(setpoint_w), np.where(appliances.enabled, planned, 0.0), rule_w
    ).astype(np.float64)


def _vehicle_setpoints(
    plan: EvPlan, setpoint_w: FloatArray, params: EvParams, dt_s: float
) -> tuple[EvPlan, BoolArray, FloatArray]:
    """The cars at home with a setpoint charge or discharge (V2H) as it says, within their
    limits (target and reserve); returns the plan, which cars follow a setpoint, and the
    discharge each of those gives the home. [W]"""
    planned = np.isfinite(setpoint_w) & ~plan.away
    charge_limit, discharge_limit = storage_power_limits_w(
        plan.level_wh,
        lower_wh=plan.lower_wh,
        upper_wh=plan.upper_wh,
        max_charge_w=params.max_charge_w,
        max_discharge_w=params.max_discharge_w,
        charge_efficiency=params.charge_efficiency,
        dt_s=dt_s,
    )
    setpoint = np.nan_to_num(setpoint_w)
    charge = np.minimum(np.maximum(setpoint, 0.0), charge_limit)
    discharge = np.minimum(np.maximum(-setpoint, 0.0), discharge_limit)
    mode = np.where(
        charge > MIN_USEFUL_POWER_W,
        EV_MODE_CHARGING,
        np.where(discharge > MIN_USEFUL_POWER_W, EV_MODE_DISCHARGING, EV_MODE_IDLE),
    ).astype(np.int8)
    mode = np.where(planned, mode, plan.mode).astype(np.int8)
    followed = replace(
        plan,
        mode=mode,
        charge_request_w=np.where(
            planned, np.where(mode == EV_MODE_CHARGING, charge, 0.0), plan.charge_request_w
        ),
        discharge_limit_w=np.where(
            planned, np.where(mode == EV_MODE_DISCHARGING, discharge, 0.0), plan.discharge_limit_w
        ),
    )
    given = np.where(planned & (mode == EV_MODE_DISCHARGING), discharge, 0.0)
    return followed, planned, given


def population_tick(
    population: Population,
    levels: StorageLevels,
    *,
    tick_at: datetime,
    dt_s: float,
    seed: int,
    dispatch: Dispatch | None = None,
) -> TickResult:
    """
    Step every device of a population by one tick and balance every home.

    Parameters
    ----------
    population : Population
        Homes and devices (see the module docstring for the layout).
    levels : StorageLevels
        Battery and vehicle levels (and vehicle modes) reported at the previous tick.
    tick_at : datetime
        Aware instant of the tick, the end of the step; irradiance and schedules are
        evaluated here, and its whole Unix second keys the deterministic draws.
    dt_s : float
        Tick length; storage moves power · dt_s. [s]
    seed : int
        Simulation seed for clouds and generator jitter.
    dispatch : Dispatch or None
        A plan's setpoints for this tick; None (or NaN for a device) follows the rules.

    Returns
    -------
    TickResult
        Per-device powers (and levels, flows, modes for storage) and per-home totals.

    Notes
    -----
    Dispatch order inside a home: production and consumption are fixed by physics;
    vehicles in mode charging draw their charging power (from the grid if need be);
    the remaining surplus charges batteries, the remaining deficit is covered by
    batteries and V2H vehicles, each home's need split in proportion to the stores'
    limits. Batteries never charge from the grid nor discharge into it. A device with a
    setpoint in ``dispatch`` takes it instead (within its limits) and is left out of that
    dispatch; the stores without one share what remains.

    References
    ----------
    See ``simulators.physics.solar``, ``simulators.physics.clouds``, ``simulators.physics.battery``,
    ``simulators.physics.ev``, ``simulators.physics.thermal``, ``simulators.physics.generator`` and
    ``simulators.physics.home``.
    """
    tick_at = utc_datetime(tick_at)
    homes = population.homes
    home_count = homes.count
    tick_s = unix_whole_seconds(tick_at)

    # Sun and solar panels.
    solar = population.solar
    outdoor_c = outdoor_temperature_c(
        homes.latitude_deg,
        homes.longitude_deg,
        tick_at,
        weather_temperature_c=homes.weather_temperature_c,
    )
    if solar.device_id.size:
        zenith, elevation, sun_azimuth, ghi, dni, dhi = home_solar_geometry(homes, tick_at)
        at_panel = solar.home_index
        poa = plane_of_array_irradiance_w_m2(
            solar.tilt_deg,
            solar.azimuth_deg,
            zenith[at_panel],
            sun_azimuth[at_panel],
            dni_w_m2=dni[at_panel],
            ghi_w_m2=ghi[at_panel],
            dhi_w_m2=dhi[at_panel],
        )
        clouds = cloud_factor(
            solar.device_id,
            tick_s,
            seed=seed,
            weather_cloud_cover=_cloud_cover_for(homes, at_panel),
        )
        all_sky_poa = poa * clouds
        solar_power = panel_power_w(
            poa,
            panel_area_m2=solar.panel_area_m2,
            efficiency=solar.efficiency,
            rated_power_w=solar.rated_power_w,
            apparent_elevation_deg=elevation[at_panel],
            cloud_factor=clouds,
            temperature_factor=temperature_derate(all_sky_poa, outdoor_c[at_panel]),
        )
    else:
        solar_power = np.zeros(0)

    # Generators, heaters, air conditioners.
    generators = population.generators
    running = generators.running
    if dispatch is not None:
        running = np.where(np.isfinite(dispatch.generator_on), dispatch.generator_on > 0.5, running)
    generator_power = generator_power_w(
        generators.device_id,
        tick_s,
        rated_power_w=generators.rated_power_w,
        running=running,
        seed=seed,
    )
    heaters = population.heaters
    heater_power = heater_power_w(
        outdoor_c[heaters.home_index],
        rated_power_w=heaters.rated_power_w,
        setpoint_c=heaters.setpoint_c,
        design_delta_c=20.0 if heaters.design_delta_c is None else heaters.design_delta_c,
        enabled=heaters.enabled,
    )
    coolers = population.air_conditioners
    cooler_power = air_conditioner_power_w(
        outdoor_c[coolers.home_index],
        rated_power_w=coolers.rated_power_w,
        setpoint_c=coolers.setpoint_c,
        design_delta_c=12.0 if coolers.design_delta_c is None else coolers.design_delta_c,
        enabled=coolers.enabled,
    )
    if dispatch is not None:
        heater_power = _appliance_setpoints(heater_power, dispatch.heater_w, heaters)
        cooler_power = _appliance_setpoints(cooler_power, dispatch.air_conditioner_w, coolers)

    # Local clocks (once per zone), base load.
    clock = zone_clock(tick_at, homes.timezones)
    home_seconds = clock.seconds_of_day[homes.timezone_index]
    base_load = base_load_w(homes.base_load_w, home_seconds)
    measured_load = 0.0 if homes.measured_load_w is None else homes.measured_load_w

    # Vehicles: schedule, driving, modes.
    vehicles = population.vehicles
    ev_params = vehicles.params()
    ev_zone = homes.timezone_index[vehicles.home_index]
    away = ev_is_away(
        clock.weekday[ev_zone],
        clock.seconds_of_day[ev_zone],
        days_mask=vehicles.days_mask,
        departure_s=vehicles.departure_s,
        arrival_s=vehicles.arrival_s,
    )
    was_away = _vehicle_was_away(vehicles, homes, ev_params, tick_at, dt_s, levels.ev_mode)
    trip_s = ev_returning_trip_duration_s(
        was_away & ~away,
        zone_index=ev_zone,
        date_ordinal=clock.date_ordinal[ev_zone],
        params=ev_params,
        timezones=homes.timezones,
    )
    plan = ev_plan(
        levels.ev_level_wh,
        away=away,
        was_away=was_away,
        trip_duration_s=trip_s,
        requested_mode=vehicles.requested_mode,
        params=ev_params,
        dt_s=dt_s,
    )
    planned_ev = np.zeros(plan.level_wh.shape, dtype=np.bool_)
    ev_planned_discharge = np.zeros(plan.level_wh.shape)
    if dispatch is not None:
        plan, planned_ev, ev_planned_discharge = _vehicle_setpoints(
            plan, dispatch.vehicle_w, ev_params, dt_s
        )

    # Batteries: limits for this tick.
    batteries = population.batteries
    battery_level, battery_lower, battery_upper = battery_bounds_wh(
        levels.battery_level_wh, capacity_wh=batteries.capacity_wh, min_soc=batteries.min_soc
    )
    battery_charge_limit, battery_discharge_limit = storage_power_limits_w(
        battery_level,
        lower_wh=battery_lower,
        upper_wh=battery_upper,
        max_charge_w=batteries.max_charge_w,
        max_discharge_w=batteries.max_discharge_w,
        charge_efficiency=batteries.round_trip_efficiency,
        dt_s=dt_s,
    )

    # Home balance: production, consumption, vehicle charging, then dispatch.
    production = sum_by_home(solar_power, solar.home_index, home_count) + sum_by_home(
        generator_power, generators.home_index, home_count
    )
    consumption = (
        base_load
        + measured_load
        + sum_by_home(heater_power, heaters.home_index, home_count)
        + sum_by_home(cooler_power, coolers.home_index, home_count)
    )
    vehicle_charging = sum_by_home(plan.charge_request_w, vehicles.home_index, home_count)
    battery_count = batteries.device_id.shape[0]
    planned_battery = np.zeros(battery_count, dtype=np.bool_)
    battery_planned_w = np.zeros(battery_count)
    if dispatch is not None:
        planned_battery = np.isfinite(dispatch.battery_w)
        battery_planned_w = np.where(
            planned_battery,
            np.clip(
                np.nan_to_num(dispatch.battery_w), -battery_discharge_limit, battery_charge_limit
            ),
            0.0,
        )
    surplus = (
        production
        - consumption
        - vehicle_charging
        + sum_by_home(ev_planned_discharge, vehicles.home_index, home_count)
        - sum_by_home(battery_planned_w, batteries.home_index, home_count)
    )
    requests = self_consumption_requests_w(
        surplus,
        storage_home_index=np.concatenate([batteries.home_index, vehicles.home_index]),
        charge_limit_w=np.concatenate(
            [np.where(planned_battery, 0.0, battery_charge_limit), np.zeros(plan.level_wh.shape)]
        ),
        discharge_limit_w=np.concatenate(
            [
                np.where(planned_battery, 0.0, battery_discharge_limit),
                np.where(planned_ev, 0.0, plan.discharge_limit_w),
            ]
        ),
        home_count=home_count,
    )
    battery_new_level, battery_flow = storage_step(
        battery_level,
        np.where(planned_battery, battery_planned_w, requests[:battery_count]),
        lower_wh=battery_lower,
        upper_wh=battery_upper,
        max_charge_w=batteries.max_charge_w,
        max_discharge_w=batteries.max_discharge_w,
        charge_efficiency=batteries.round_trip_efficiency,
        dt_s=dt_s,
    )
    ev_step = ev_complete(
        plan,
        params=ev_params,
        v2h_request_w=np.where(planned_ev, ev_planned_discharge, -requests[battery_count:]),
        dt_s=dt_s,
    )

    storage_flow = sum_by_home(battery_flow, batteries.home_index, home_count) + sum_by_home(
        ev_step.flow_w, vehicles.home_index, home_count
    )
    charging = sum_by_home(
        np.maximum(battery_flow, 0.0), batteries.home_index, home_count
    ) + sum_by_home(np.maximum(ev_step.flow_w, 0.0), vehicles.home_index, home_count)
    balance = home_balance(
        production_w=production,
        consumption_w=consumption,
        storage_flow_w=storage_flow,
        charging_w=charging,
    )
    at_home = ~ev_step.away
    storage_level = sum_by_home(battery_new_level, batteries.home_index, home_count) + sum_by_home(
        np.where(at_home, ev_step.level_wh, 0.0), vehicles.home_index, home_count
    )
    storage_capacity = sum_by_home(
        batteries.capacity_wh, batteries.home_index, home_count
    ) + sum_by_home(
        np.where(at_home, vehicles.battery_capacity_wh, 0.0), vehicles.home_index, home_count
    )
    battery_mode = np.where(
        battery_flow > 0.0,
        EV_MODE_CHARGING,
        np.where(battery_flow < 0.0, EV_MODE_DISCHARGING, EV_MODE_IDLE),
    ).astype(np.int8)
    return TickResult(
        tick_at=tick_at,
        solar_power_w=solar_power,
        generator_power_w=generator_power,
        heater_power_w=heater_power,
        air_conditioner_power_w=cooler_power,
        batteries=StorageResult(
            level_wh=battery_new_level,
            flow_w=battery_flow,
            mode=battery_mode,
            away=np.zeros(battery_count, dtype=np.bool_),
            driven_wh=np.zeros(battery_count),
        ),
        vehicles=StorageResult(
            level_wh=ev_step.level_wh,
            flow_w=ev_step.flow_w,
            mode=ev_step.mode,
            away=ev_step.away,
            driven_wh=ev_step.driven_wh,
        ),
        homes=HomeTotals(
            production_w=balance.production_w,
            consumption_w=balance.consumption_w,
            storage_flow_w=balance.storage_flow_w,
            net_grid_flow_w=balance.net_grid_flow_w,
            self_sufficiency=balance.self_sufficiency,
            storage_level_wh=storage_level,
            storage_capacity_wh=storage_capacity,
            base_load_w=base_load,
            outdoor_temperature_c=outdoor_c,
        ),
    )


def homes_from_lists(
    *,
    latitude_deg: Sequence[float],
    longitude_deg: Sequence[float],
    timezone: Sequence[str],
    base_load_w: Sequence[float],
) -> Homes:
    """
    Build ``Homes`` from per-home lists, interning the zone names.

    Parameters
    ----------
    latitude_deg, longitude_deg : sequence of float
        Place. [deg]
    timezone : sequence of str
        IANA zone name of each home.
    base_load_w : sequence of float
        Mean base load. [W]

    Returns
    -------
    Homes
    """
    names, index = np.unique(np.asarray(timezone, dtype=str), return_inverse=True)
    return Homes(
        latitude_deg=_floats(latitude_deg),
        longitude_deg=_floats(longitude_deg),
        timezone_index=_ints(index.ravel()),
        base_load_w=_floats(base_load_w),
        timezones=tuple(str(name) for name in names),
    )


__all__ = [
    "Batteries",
    "Dispatch",
    "ElectricVehicles",
    "Generators",
    "HomeTotals",
    "Homes",
    "Population",
    "SolarPanels",
    "StorageLevels",
    "StorageResult",
    "Thermostats",
    "TickResult",
    "home_solar_geometry",
    "homes_from_lists",
    "population_tick",
]
