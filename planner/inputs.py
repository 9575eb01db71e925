"""
One home's planning inputs, read from its devices, its goal and its grid signals, and turned
into the pure core's ``Fleet`` of one home (``planner.problem``) with the forecast behind it.

Devices of one kind are planned as one: batteries, heaters, air conditioners and generators
are summed (efficiencies and floors weighted by capacity), and a plan's setpoint is shared
out to each device by its capacity or rating. One car per home is planned: the first that
is not offline. Stored levels are the devices' checkpoints (half full where none is known).
The base load is the mean of the home's own history at the same local weekday and quarter
hour over the last ``BASE_LOAD_WEEKS`` weeks, its synthetic profile (``base_load_w``) where
it has none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db.models import Avg, DateTimeField, Func, Q

from devices.models import (
    AirConditioner,
    Battery,
    Device,
    ElectricVehicle,
    EvMode,
    Generator,
    Heater,
    Home,
    HomeEnergyHistory,
    SolarPanel,
)
from grid import resolver
from grid import selectors as grid_selectors
from grid.providers.base import Signal
from grid.tariffs import TariffSpec
from planner import forecast
from planner.models import DEFAULT_EXPORT_MAX_W, DEFAULT_IMPORT_MAX_W, OptimizationGoal
from planner.problem import (
    COOLING_DESIGN_DELTA_C,
    HEATING_DESIGN_DELTA_C,
    INTERVAL_S,
    Batteries,
    Fleet,
    Forecasts,
    Generators,
    Objective,
    Signals,
    Thermal,
    Vehicles,
    heat_loss_from_rating_w_per_k,
    thermal_gains,
)
from simulators.physics.ev import EvParams
from simulators.physics.solar import SolarPanelParams

FloatArray = npt.NDArray[np.float64]

UNKNOWN_SOC = 0.5
"""State of charge assumed for a store whose level was never checkpointed. [-]"""
EV_CHARGE_EFFICIENCY = 0.9
"""The farm's car charging efficiency (all of the loss on charge, as the physics). [-]"""
COMFORT_MARGIN_C = 1.0
"""The comfort band reaches this far below a heater's and above an air conditioner's
setpoint: the room the plan has to pre-heat or pre-cool. [K]"""
GENERATOR_FUEL_COST_PER_KWH = 0.35
"""Fuel cost of a generator's output (a petrol set at about 3 kWh per litre). [currency/kWh]"""
GENERATOR_CARBON_G_PER_KWH = 700.0
"""Emissions of a small petrol generator's output. [g/kWh]"""
DEFAULT_OBJECTIVE = Objective.COST
BASE_LOAD_WEEKS = 4
"""Weeks of a home's history its base-load forecast averages."""


def interval_start(at: datetime) -> datetime:
    """The start of the 15-minute interval holding ``at``."""
    minutes = int(INTERVAL_S // 60)
    return at.replace(second=0, microsecond=0) - timedelta(minutes=at.minute % minutes)


@dataclass(frozen=True, slots=True)
class HomeDevices:
    """A home's devices by kind (the car: the one planned, or None)."""

    panels: list[SolarPanel]
    batteries: list[Battery]
    vehicle: ElectricVehicle | None
    heaters: list[Heater]
    air_conditioners: list[AirConditioner]
    generators: list[Generator]

    def planned(self) -> list[Device]:
        """Every device a plan gives setpoints to."""
        vehicle: list[Device] = [self.vehicle] if self.vehicle is not None else []
        return [*self.batteries, *vehicle, *self.heaters, *self.air_conditioners,
                *self.generators]  # fmt: skip


@dataclass(frozen=True, slots=True)
class HomeInputs:
    """Everything one home's plan is made from, per interval (T,) where not a Fleet."""

    home: Home
    devices: HomeDevices
    starts_at: datetime
    fleet: Fleet
    cloud_cover: FloatArray
    heating_w: FloatArray
    cooling_w: FloatArray
    vehicle_home: npt.NDArray[np.bool_] | None
    currency: str

    @property
    def intervals(self) -> int:
        return self.fleet.intervals

    def interval_bounds(self) -> list[tuple[datetime, datetime]]:
        step = timedelta(seconds=INTERVAL_S)
        return [
            (self.starts_at + t * step, self.starts_at + (t + 1) * step)
            for t in range(self.intervals)
        ]

    def inputs_hash(self) -> str:
        """SHA-256 of every number the plan is made from, the objective and the start."""
        digest = hashlib.sha256()
        digest.update(self.starts_at.isoformat().encode())
        digest.update(str(self.fleet.objective).encode())
        groups: Sequence[Any] = (
            self.fleet.signals, self.fleet.forecasts, self.fleet.batteries,
            self.fleet.vehicles, self.fleet.thermal, self.fleet.generators,
        )  # fmt: skip
        for group in groups:
            for item in fields(group):
                digest.update(item.name.encode())
                digest.update(np.ascontiguousarray(getattr(group, item.name)).tobytes())
        digest.update(self.fleet.grid_import_max_w.tobytes())
        digest.update(self.fleet.grid_export_max_w.tobytes())
        digest.update(",".join(str(d.pk) for d in self.devices.planned()).encode())
        return digest.hexdigest()


def home_devices(home: Home) -> HomeDevices:
    """The home's devices by kind, in id order."""
    return _by_kind(list(Device.objects.filter(home=home).select_subclasses().order_by("pk")))


def _by_kind(found: list[Any]) -> HomeDevices:
    def of(kind: type[Any]) -> list[Any]:
        return [device for device in found if isinstance(device, kind)]

    cars = [car for car in of(ElectricVehicle) if car.mode != EvMode.OFFLINE]
    return HomeDevices(
        panels=of(SolarPanel),
        batteries=of(Battery),
        vehicle=cars[0] if cars else None,
        heaters=of(Heater),
        air_conditioners=of(AirConditioner),
        generators=of(Generator),
    )


SeriesKey = tuple[str, TariffSpec, datetime, int]


@dataclass(frozen=True, slots=True)
class SharedReads:
    """What many homes' inputs read once for all of them (a planning shard's): each home's
    devices and tariff, and each region and tariff's resolved signals (filled as used)."""

    devices: dict[int, HomeDevices]
    tariffs: dict[int, grid_selectors.TariffView]
    series: dict[SeriesKey, dict[Signal, FloatArray]] = field(default_factory=dict)


def shared_reads(homes: Sequence[Home]) -> SharedReads:
    """The devices (one query) and tariffs (two) of ``homes``."""
    found: dict[int, list[Any]] = {home.pk: [] for home in homes}
    devices = Device.objects.filter(home__in=list(found)).select_subclasses().order_by("pk")
    for device in devices:
        found[device.home_id].append(device)
    return SharedReads(
        devices={pk: _by_kind(listed) for pk, listed in found.items()},
        tariffs=grid_selectors.tariff_views_for_homes(homes=homes),
    )


def _signals(
    home: Home, starts_at: datetime, intervals: int, shared: SharedReads | None = None
) -> tuple[dict[Signal, FloatArray], str]:
    """Each signal per 15-minute interval from the home's resolved series (half-hourly); homes
    of one region and tariff share them through ``shared``."""
    if shared is not None and home.pk in shared.tariffs:
        view = shared.tariffs[home.pk]
    else:
        view = grid_selectors.tariff_view(user_id=home.owner_id, home_id=home.pk)
    key: SeriesKey = (view.region, view.spec, starts_at, intervals)
    if shared is not None and key in shared.series:
        return shared.series[key], view.currency
    end = starts_at + timedelta(seconds=INTERVAL_S * intervals)
    series = resolver.home_series(region=view.region, spec=view.spec, start=starts_at, end=end)
    starts = [starts_at + timedelta(seconds=INTERVAL_S * t) for t in range(intervals)]
    values: dict[Signal, FloatArray] = {}
    for signal in Signal:
        points = series[signal]
        row = np.empty(intervals)
        j = 0
        for t, at in enumerate(starts):
            while j + 1 < len(points) and points[j].end <= at:
                j += 1
            row[t] = points[j].value
        row.flags.writeable = False  # shared between homes
        values[signal] = row
    if shared is not None:
        shared.series[key] = values
    return values, view.currency


class _IntervalOf(Func):
    """The start of the 15-minute interval a tick ending at the expression belongs to (a tick
    ending on an interval's boundary is the interval's last)."""

    template = (
        f"to_timestamp(floor((extract(epoch from %(expressions)s) - 0.001) / {INTERVAL_S:g})"
        f" * {INTERVAL_S:g})"
    )
    output_field = DateTimeField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # `make run`'s database: whole seconds (ticks are), integer division as the floor.
        step = int(INTERVAL_S)
        template = (
            f"datetime(((CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) - 1) / {step})"
            f" * {step}, 'unixepoch')"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


def base_load_history_w(home: Home, starts_at: datetime, intervals: int) -> FloatArray:
    """
    The home's mean base load in the same local weekday and quarter hour of each of the last
    ``BASE_LOAD_WEEKS`` weeks, (1, N, T) [W], NaN where it has no history: one query over the
    history grouped by interval; a week back is the same wall-clock time in the home's zone.
    """
    zone = ZoneInfo(home.timezone)
    step = timedelta(seconds=INTERVAL_S)
    weeks = range(1, BASE_LOAD_WEEKS + 1)
    wanted = [
        [
            ((starts_at + t * step).astimezone(zone) - timedelta(weeks=k)).astimezone(UTC)
            for t in range(intervals)
        ]
        for k in weeks
    ]
    # Only the days looked up, one range per week back: the history between them (three
    # weeks of a four-week span) is never read (39 ms against 6 ms a home with minute ticks).
    days = Q()
    for row in wanted:
        days |= Q(tick_at__gt=min(row), tick_at__lte=max(row) + step)
    mean_wh = dict(
        HomeEnergyHistory.objects.filter(days, home=home)
        .annotate(interval=_IntervalOf("tick_at"))
        .values("interval")
        .annotate(mean_wh=Avg("base_load_wh"))
        .values_list("interval", "mean_wh")
    )
    to_w = 3600.0 / settings.TICK_SECONDS
    history = np.full((1, len(weeks), intervals), np.nan)
    for n, row in enumerate(wanted):
        for t, at in enumerate(row):
            found = mean_wh.get(at)
            if found is not None:
                history[0, n, t] = found * to_w
    return history


def _weighted(values: Sequence[float], weights: Sequence[float]) -> float:
    total = float(sum(weights))
    return float(np.dot(values, weights) / total) if total > 0 else float(values[0])


def home_inputs(
    *,
    home: Home,
    goal: OptimizationGoal | None,
    starts_at: datetime,
    intervals: int,
    shared: SharedReads | None = None,
) -> HomeInputs:
    """The home's problem over ``intervals`` 15-minute intervals from ``starts_at`` (its
    devices, tariff and signals from ``shared`` where read there)."""
    if shared is not None and home.pk in shared.devices:
        devices = shared.devices[home.pk]
    else:
        devices = home_devices(home)
    signal, currency = _signals(home, starts_at, intervals, shared)
    shape = (1, intervals)
    outdoor = signal[Signal.TEMPERATURE]
    clouds = np.clip(signal[Signal.CLOUD_COVER], 0.0, 1.0)

    panels = devices.panels
    if panels:
        pv = forecast.pv_forecast_w(
            latitude_deg=np.full(len(panels), home.latitude),
            longitude_deg=np.full(len(panels), home.longitude),
            panel=SolarPanelParams(
                panel_area_m2=np.array([p.panel_area_m2 for p in panels]),
                efficiency=np.array([p.efficiency for p in panels]),
                rated_power_w=np.array([p.rated_power_w for p in panels]),
                tilt_deg=np.array([p.tilt_deg for p in panels]),
                azimuth_deg=np.array([p.azimuth_deg for p in panels]),
            ),
            home_index=np.zeros(len(panels), dtype=np.intp),
            homes=1,
            starts_at=starts_at,
            intervals=intervals,
            cloud_cover=np.broadcast_to(clouds, (len(panels), intervals)),
            air_temperature_c=np.broadcast_to(outdoor, (len(panels), intervals)),
        )
    else:
        pv = np.zeros(shape)
    _, seconds = forecast.local_clock(
        starts_at, intervals, timezones=[home.timezone], zone_index=[0]
    )
    load = forecast.base_load_forecast_w(
        base_load_history_w(home, starts_at, intervals),
        mean_base_load_w=[home.base_load_w],
        local_seconds_of_day=seconds,
    )

    bats = devices.batteries
    capacity = sum(b.capacity_wh for b in bats)
    stored = sum(b.level_wh if b.level_wh is not None else UNKNOWN_SOC * b.capacity_wh
                 for b in bats)  # fmt: skip
    caps = [b.capacity_wh for b in bats]
    batteries = Batteries(
        present=np.array([bool(bats)]),
        capacity_wh=np.array([capacity]),
        max_charge_w=np.array([sum(b.max_charge_w for b in bats)]),
        max_discharge_w=np.array([sum(b.max_discharge_w for b in bats)]),
        charge_efficiency=np.array(
            [_weighted([b.round_trip_efficiency for b in bats], caps) if bats else 1.0]
        ),
        discharge_efficiency=np.ones(1),
        min_soc=np.array([_weighted([b.min_soc for b in bats], caps) if bats else 0.0]),
        initial_soc=np.array([min(stored / capacity, 1.0) if capacity > 0 else 0.0]),
    )

    car = devices.vehicle
    vehicle_home: npt.NDArray[np.bool_] | None = None
    if car is not None:
        plan = forecast.vehicle_forecast(
            starts_at,
            intervals,
            timezones=[home.timezone],
            zone_index=[0],
            params=EvParams(
                battery_capacity_wh=car.battery_capacity_wh,
                max_charge_w=car.max_charge_w,
                max_discharge_w=car.max_discharge_w,
                target_soc=np.array([car.target_soc]),
                driving_wh_per_hour=np.array([car.driving_wh_per_hour]),
                days_mask=np.array([car.away_days]),
                departure_s=np.array([_seconds(car.departure_time)]),
                arrival_s=np.array([_seconds(car.arrival_time)]),
            ),
        )
        vehicle_home = plan.home[0]
        level = car.level_wh if car.level_wh is not None else UNKNOWN_SOC * car.battery_capacity_wh
        vehicles = Vehicles(
            present=np.ones(1, dtype=bool),
            capacity_wh=np.array([car.battery_capacity_wh]),
            max_charge_w=np.array([car.max_charge_w]),
            max_discharge_w=np.array([car.max_discharge_w]),
            charge_efficiency=np.array([EV_CHARGE_EFFICIENCY]),
            discharge_efficiency=np.ones(1),
            initial_soc=np.array([min(level / car.battery_capacity_wh, 1.0)]),
            v2h=np.array([car.max_discharge_w > 0]),
            home=plan.home,
            driving_wh=plan.driving_wh,
            target_soc=plan.target_soc,
            charge_target_soc=np.array([car.target_soc]),
        )
    else:
        vehicles = Vehicles(
            present=np.zeros(1, dtype=bool), capacity_wh=np.zeros(1), max_charge_w=np.zeros(1),
            max_discharge_w=np.zeros(1), charge_efficiency=np.ones(1),
            discharge_efficiency=np.ones(1), initial_soc=np.zeros(1),
            v2h=np.zeros(1, dtype=bool), home=np.zeros(shape, dtype=bool),
            driving_wh=np.zeros(shape), target_soc=np.full(shape, np.nan),
            charge_target_soc=np.ones(1),
        )  # fmt: skip

    heaters, coolers = devices.heaters, devices.air_conditioners
    heater_w = float(sum(h.rated_power_w for h in heaters))
    ac_w = float(sum(c.rated_power_w for c in coolers))
    heat_set = _weighted([h.setpoint_c for h in heaters], [h.rated_power_w for h in heaters]) \
        if heaters else 20.0  # fmt: skip
    cool_set = _weighted([c.setpoint_c for c in coolers], [c.rated_power_w for c in coolers]) \
        if coolers else 24.0  # fmt: skip
    if heaters:
        ua = float(heat_loss_from_rating_w_per_k(heater_w, design_delta_c=HEATING_DESIGN_DELTA_C))
    elif coolers:
        ua = float(heat_loss_from_rating_w_per_k(ac_w, design_delta_c=COOLING_DESIGN_DELTA_C))
    else:
        ua = 100.0
    a, b_h, b_c = thermal_gains(heat_loss_w_per_k=ua, heating_cop=1.0, cooling_cop=1.0)
    thermal = Thermal(
        heater_present=np.array([bool(heaters)]),
        heater_max_w=np.array([heater_w]),
        ac_present=np.array([bool(coolers)]),
        ac_max_w=np.array([ac_w]),
        a=np.array([float(a)]),
        heating_k_per_w=np.array([float(b_h)]),
        cooling_k_per_w=np.array([float(b_c)]),
        initial_indoor_c=np.array([heat_set if heaters else cool_set]),
        comfort_low_c=np.full(shape, heat_set - COMFORT_MARGIN_C if heaters else -np.inf),
        comfort_high_c=np.full(shape, cool_set + COMFORT_MARGIN_C if coolers else np.inf),
        heating_setpoint_c=np.array([heat_set]),
        cooling_setpoint_c=np.array([cool_set]),
    )
    heating, cooling = forecast.thermal_demand_w(
        outdoor[None, :],
        heater_rated_w=[heater_w],
        heating_setpoint_c=[heat_set],
        ac_rated_w=[ac_w],
        cooling_setpoint_c=[cool_set],
    )

    gens = devices.generators
    generators = Generators(
        present=np.array([bool(gens)]),
        rated_power_w=np.array([float(sum(g.rated_power_w for g in gens))]),
        min_output_w=np.zeros(1),
        fuel_cost_per_kwh=np.array([GENERATOR_FUEL_COST_PER_KWH]),
        carbon_g_per_kwh=np.array([GENERATOR_CARBON_G_PER_KWH]),
    )
    objective = Objective(goal.objective) if goal is not None else DEFAULT_OBJECTIVE
    fleet = Fleet(
        signals=Signals(
            import_price_per_kwh=signal[Signal.IMPORT_PRICE][None, :],
            export_price_per_kwh=signal[Signal.EXPORT_PRICE][None, :],
            carbon_g_per_kwh=np.maximum(signal[Signal.CARBON_INTENSITY], 0.0)[None, :],
            outdoor_c=outdoor[None, :],
        ),
        forecasts=Forecasts(pv_w=np.asarray(pv), base_load_w=np.asarray(load)),
        batteries=batteries,
        vehicles=vehicles,
        thermal=thermal,
        generators=generators,
        grid_import_max_w=np.array(
            [goal.grid_import_max_w if goal is not None else DEFAULT_IMPORT_MAX_W]
        ),
        grid_export_max_w=np.array(
            [goal.grid_export_max_w if goal is not None else DEFAULT_EXPORT_MAX_W]
        ),
        objective=objective,
    )
    return HomeInputs(
        home=home,
        devices=devices,
        starts_at=starts_at,
        fleet=fleet,
        cloud_cover=clouds,
        heating_w=np.asarray(heating[0]),
        cooling_w=np.asarray(cooling[0]),
        vehicle_home=vehicle_home,
        currency=currency,
    )


def _seconds(value: Any) -> float:
    return float(value.hour * 3600 + value.minute * 60 + value.second)
