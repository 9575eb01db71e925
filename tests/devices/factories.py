from datetime import UTC, datetime, time, timedelta
from typing import Any

import factory
from factory.django import DjangoModelFactory

from devices.models import (
    AirConditioner,
    Battery,
    ElectricVehicle,
    EnergyMeter,
    Generator,
    Heater,
    Home,
    HomeEnergyHistory,
    SolarPanel,
)
from tests.accounts.factories import UserFactory


class HomeFactory(DjangoModelFactory[Home]):
    class Meta:
        model = Home

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Home {n}")
    latitude = 37.7749
    longitude = -122.4194
    timezone = "America/Los_Angeles"
    base_load_w = 400.0


class DeviceFactory(DjangoModelFactory[Any]):
    home = factory.SubFactory(HomeFactory)
    name = factory.Sequence(lambda n: f"Device {n}")


class SolarPanelFactory(DeviceFactory):
    class Meta:
        model = SolarPanel

    panel_area_m2 = 10.0
    efficiency = 0.2
    rated_power_w = 2000.0
    tilt_deg = 30.0
    azimuth_deg = 180.0


class GeneratorFactory(DeviceFactory):
    class Meta:
        model = Generator

    rated_power_w = 3000.0
    running = False


class BatteryFactory(DeviceFactory):
    class Meta:
        model = Battery

    capacity_wh = 10_000.0
    max_charge_w = 5000.0
    max_discharge_w = 5000.0
    round_trip_efficiency = 0.9
    min_soc = 0.1


class ElectricVehicleFactory(DeviceFactory):
    class Meta:
        model = ElectricVehicle

    battery_capacity_wh = 60_000.0
    max_charge_w = 7400.0
    max_discharge_w = 5000.0
    mode = "idle"
    departure_time = time(7, 0)
    arrival_time = time(18, 0)


class HeaterFactory(DeviceFactory):
    class Meta:
        model = Heater

    rated_power_w = 2000.0
    setpoint_c = 20.0


class AirConditionerFactory(DeviceFactory):
    class Meta:
        model = AirConditioner

    rated_power_w = 2500.0
    setpoint_c = 24.0


class EnergyMeterFactory(DeviceFactory):
    class Meta:
        model = EnergyMeter

    source = "physical"
    status = "offline"


class HomeEnergyHistoryFactory(DjangoModelFactory[HomeEnergyHistory]):
    """A tick of a home without a goal (the planner's columns null), one minute apart."""

    class Meta:
        model = HomeEnergyHistory

    home = factory.SubFactory(HomeFactory)
    tick_at = factory.Sequence(lambda n: datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=n))
    production_wh = 0.0
    consumption_wh = 0.0
    import_wh = 0.0
    export_wh = 0.0
    charge_wh = 0.0
    discharge_wh = 0.0


ALL_DEVICE_FACTORIES = (
    SolarPanelFactory,
    GeneratorFactory,
    BatteryFactory,
    ElectricVehicleFactory,
    HeaterFactory,
    AirConditionerFactory,
    EnergyMeterFactory,
)
