"""Idempotently create the demo user, two homes, and one device of every kind."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from devices.models import (
    AirConditioner,
    Battery,
    Device,
    ElectricVehicle,
    EnergyMeter,
    Generator,
    Heater,
    Home,
    SolarPanel,
)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "gridtwin-demo"

HOMES: list[dict[str, Any]] = [
    {
        "name": "San Francisco house",
        "latitude": 37.7749,
        "longitude": -122.4194,
        "timezone": "America/Los_Angeles",
        "base_load_w": 450.0,
    },
    {
        "name": "Berlin flat",
        "latitude": 52.52,
        "longitude": 13.405,
        "timezone": "Europe/Berlin",
        "base_load_w": 300.0,
    },
]

SF, BERLIN = 0, 1
DEVICES: list[tuple[int, type[Device], str, dict[str, Any]]] = [
    (SF, SolarPanel, "Roof array",
     {"panel_area_m2": 30.0, "efficiency": 0.21, "rated_power_w": 6000.0}),
    (SF, Battery, "Garage battery",
     {"capacity_wh": 13500.0, "max_charge_w": 5000.0, "max_discharge_w": 5000.0}),
    (SF, ElectricVehicle, "Family EV",
     {"battery_capacity_wh": 75000.0, "max_charge_w": 11000.0, "max_discharge_w": 7000.0,
      "mode": "charging"}),
    (SF, AirConditioner, "Living room AC", {"rated_power_w": 2500.0, "setpoint_c": 24.0}),
    (SF, EnergyMeter, "Main meter", {"source": "physical", "status": "offline"}),
    (BERLIN, SolarPanel, "Balcony panels",
     {"panel_area_m2": 4.0, "efficiency": 0.2, "rated_power_w": 800.0, "azimuth_deg": 200.0}),
    (BERLIN, Generator, "Backup generator", {"rated_power_w": 3000.0, "running": False}),
    (BERLIN, Heater, "Heat pump", {"rated_power_w": 3000.0, "setpoint_c": 20.5}),
    (BERLIN, Battery, "Wall battery",
     {"capacity_wh": 5000.0, "max_charge_w": 2500.0, "max_discharge_w": 2500.0}),
]  # fmt: skip


class Command(BaseCommand):
    help = "Create or refresh the demo user (demo / gridtwin-demo), two homes and their devices."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user, created = User.objects.get_or_create(username=DEMO_USERNAME)
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save()
        homes = []
        for spec in HOMES:
            home, _ = Home.objects.update_or_create(
                owner=user,
                name=spec["name"],
                defaults={k: v for k, v in spec.items() if k != "name"},
            )
            homes.append(home)
        made = 0
        for home_index, model, name, fields in DEVICES:
            home = homes[home_index]
            if not model.objects.filter(home=home, name=name).exists():
                device = model(home=home, name=name, **fields)
                device.full_clean()
                device.save()
                made += 1
        self.stdout.write(
            f"demo data ready: user '{DEMO_USERNAME}', {len(homes)} homes, {made} devices added"
        )
