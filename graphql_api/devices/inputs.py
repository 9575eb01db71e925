"""Inputs. An omitted optional field keeps the model's default (create) or value (update)."""

from dataclasses import asdict
from datetime import time
from typing import Any

import strawberry
from strawberry import UNSET

from graphql_api.devices.types import DeviceSource, DeviceStatus, EvMode


def provided(data: object) -> dict[str, Any]:
    """The fields a client actually sent, as a dict of model field names."""
    values = asdict(data)  # type: ignore[call-overload]
    return {name: value for name, value in values.items() if value is not UNSET}


@strawberry.input(name="HomeInput")
class HomeInput:
    name: str
    latitude: float
    longitude: float
    timezone: str = strawberry.field(description="IANA name, e.g. Europe/Berlin.")
    base_load_w: float | None = UNSET


@strawberry.input(name="HomePatch")
class HomePatch:
    name: str | None = UNSET
    latitude: float | None = UNSET
    longitude: float | None = UNSET
    timezone: str | None = UNSET
    base_load_w: float | None = UNSET


@strawberry.input
class _DeviceBase:
    home_id: strawberry.ID
    name: str
    source: DeviceSource | None = UNSET
    status: DeviceStatus | None = UNSET


@strawberry.input(name="SolarPanelInput")
class SolarPanelInput(_DeviceBase):
    panel_area_m2: float
    rated_power_w: float
    efficiency: float | None = UNSET
    tilt_deg: float | None = UNSET
    azimuth_deg: float | None = UNSET


@strawberry.input(name="GeneratorInput")
class GeneratorInput(_DeviceBase):
    rated_power_w: float
    running: bool | None = UNSET


@strawberry.input(name="BatteryInput")
class BatteryInput(_DeviceBase):
    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    round_trip_efficiency: float | None = UNSET
    min_soc: float | None = UNSET


@strawberry.input(name="ElectricVehicleInput")
class ElectricVehicleInput(_DeviceBase):
    battery_capacity_wh: float
    max_charge_w: float
    max_discharge_w: float | None = UNSET
    mode: EvMode | None = UNSET
    target_soc: float | None = UNSET
    reserve_soc: float | None = UNSET
    driving_wh_per_hour: float | None = UNSET
    away_days: int | None = UNSET
    departure_time: time | None = UNSET
    arrival_time: time | None = UNSET


@strawberry.input(name="HeaterInput")
class HeaterInput(_DeviceBase):
    rated_power_w: float
    setpoint_c: float | None = UNSET


@strawberry.input(name="AirConditionerInput")
class AirConditionerInput(_DeviceBase):
    rated_power_w: float
    setpoint_c: float | None = UNSET


@strawberry.input(name="EnergyMeterInput")
class EnergyMeterInput(_DeviceBase):
    reporting_interval_s: int | None = UNSET


@strawberry.input(
    name="DevicePatch",
    description="Fields to change; a field that the device's kind does not have is an error.",
)
class DevicePatch:
    name: str | None = UNSET
    status: DeviceStatus | None = UNSET
    panel_area_m2: float | None = UNSET
    efficiency: float | None = UNSET
    rated_power_w: float | None = UNSET
    tilt_deg: float | None = UNSET
    azimuth_deg: float | None = UNSET
    running: bool | None = UNSET
    capacity_wh: float | None = UNSET
    max_charge_w: float | None = UNSET
    max_discharge_w: float | None = UNSET
    round_trip_efficiency: float | None = UNSET
    min_soc: float | None = UNSET
    battery_capacity_wh: float | None = UNSET
    target_soc: float | None = UNSET
    reserve_soc: float | None = UNSET
    driving_wh_per_hour: float | None = UNSET
    away_days: int | None = UNSET
    departure_time: time | None = UNSET
    arrival_time: time | None = UNSET
    setpoint_c: float | None = UNSET
    reporting_interval_s: int | None = UNSET
