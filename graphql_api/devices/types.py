"""GraphQL types of homes and devices: ``Device`` is an interface, each kind its own type."""

from datetime import datetime, time

import strawberry
import strawberry_django
from strawberry import auto
from strawberry.types import Info

from devices import models
from graphql_api.devices.loaders import devices_by_home
from graphql_api.live.queries import device_live_loader
from graphql_api.live.types import DeviceState

# strawberry.enum registers the model's own TextChoices (it returns the same class).
DeviceKind = models.DeviceKind
DeviceSource = models.DeviceSource
DeviceStatus = models.DeviceStatus
EvMode = models.EvMode
for _choices in (DeviceKind, DeviceSource, DeviceStatus, EvMode):
    strawberry.enum(_choices, name=_choices.__name__)


@strawberry_django.type(models.Home, name="Home")
class HomeType:
    id: auto
    name: auto
    latitude: auto
    longitude: auto
    timezone: auto
    base_load_w: auto
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Devices of this home, oldest first.")
    async def devices(self, info: Info) -> list["DeviceInterface"]:
        return await devices_by_home(info).load(self.id)  # type: ignore[attr-defined]


@strawberry_django.interface(models.Device, name="Device")
class DeviceInterface:
    id: auto
    name: auto
    kind: DeviceKind
    source: DeviceSource
    status: DeviceStatus
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None
    home_id: strawberry.ID = strawberry_django.field(field_name="home_id")

    @strawberry.field(description="Live state; null values with stale: true when there is none.")
    async def live(self, info: Info) -> DeviceState:
        return await device_live_loader(info).load(self.pk)  # type: ignore[attr-defined]


@strawberry_django.type(models.SolarPanel, name="SolarPanel")
class SolarPanelType(DeviceInterface):
    panel_area_m2: auto
    efficiency: auto
    rated_power_w: auto
    tilt_deg: auto
    azimuth_deg: auto


@strawberry_django.type(models.Generator, name="Generator")
class GeneratorType(DeviceInterface):
    rated_power_w: auto
    running: auto


@strawberry_django.type(models.Battery, name="Battery")
class BatteryType(DeviceInterface):
    capacity_wh: auto
    max_charge_w: auto
    max_discharge_w: auto
    round_trip_efficiency: auto
    min_soc: auto


@strawberry_django.type(models.ElectricVehicle, name="ElectricVehicle")
class ElectricVehicleType(DeviceInterface):
    battery_capacity_wh: auto
    max_charge_w: auto
    max_discharge_w: auto
    mode: EvMode
    target_soc: auto
    reserve_soc: auto
    driving_wh_per_hour: auto
    away_days: auto
    departure_time: time
    arrival_time: time


@strawberry_django.type(models.Heater, name="Heater")
class HeaterType(DeviceInterface):
    rated_power_w: auto
    setpoint_c: auto


@strawberry_django.type(models.AirConditioner, name="AirConditioner")
class AirConditionerType(DeviceInterface):
    rated_power_w: auto
    setpoint_c: auto


LATEST_READING = (
    "The meter's newest reading as stored in PostgreSQL, moved there by the heartbeat check "
    "(about every 10 s); null until the meter first reports. For the value of this instant read "
    "`live`, which changes with every reading."
)


def _latest(unit: str) -> str:
    return f"{unit}. {LATEST_READING}"


@strawberry_django.type(
    models.EnergyMeter,
    name="EnergyMeter",
    description=(
        "A real meter (an ESP board with a PZEM-004T, or `firmware.emulate`). It stays OFFLINE "
        "with null values until a device sends readings with its API key."
    ),
)
class EnergyMeterType(DeviceInterface):
    reporting_interval_s: auto
    voltage_v: auto = strawberry_django.field(description=_latest("Volts"))
    current_a: auto = strawberry_django.field(description=_latest("Amperes"))
    power_w: auto = strawberry_django.field(description=_latest("Watts, > 0 consumed"))
    energy_wh: auto = strawberry_django.field(description=_latest("The meter's energy counter, Wh"))
    frequency_hz: auto = strawberry_django.field(description=_latest("Hertz"))
    power_factor: auto = strawberry_django.field(description=_latest("0..1"))


DEVICE_TYPES: tuple[type, ...] = (
    SolarPanelType,
    GeneratorType,
    BatteryType,
    ElectricVehicleType,
    HeaterType,
    AirConditionerType,
    EnergyMeterType,
)


@strawberry.type(name="PageInfo")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(name="DeviceEdge")
class DeviceEdge:
    cursor: str
    node: DeviceInterface
