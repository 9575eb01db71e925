"""The data of gridtwin, split by concern and re-exported: ``from devices.models import Device``.

Homes (:mod:`.homes`), the device tree (:mod:`.tree`), readings (:mod:`.readings`), commands
(:mod:`.commands`), alerts (:mod:`.alerts`) and energy history (:mod:`.history`).
"""

from devices.models.alerts import Alert, AlertKind, AlertRule, AlertSeverity
from devices.models.commands import CommandStatus, DeviceCommand
from devices.models.history import HomeEnergyHistory
from devices.models.homes import Home
from devices.models.readings import Reading, ReadingHourly
from devices.models.tree import (
    DEVICE_MODELS,
    AirConditioner,
    Battery,
    Device,
    DeviceKind,
    DeviceSource,
    DeviceStatus,
    ElectricVehicle,
    EnergyMeter,
    EvMode,
    Generator,
    Heater,
    SolarPanel,
)

__all__ = [
    "DEVICE_MODELS",
    "AirConditioner",
    "Alert",
    "AlertKind",
    "AlertRule",
    "AlertSeverity",
    "Battery",
    "CommandStatus",
    "Device",
    "DeviceCommand",
    "DeviceKind",
    "DeviceSource",
    "DeviceStatus",
    "ElectricVehicle",
    "EnergyMeter",
    "EvMode",
    "Generator",
    "Heater",
    "Home",
    "HomeEnergyHistory",
    "Reading",
    "ReadingHourly",
    "SolarPanel",
]
