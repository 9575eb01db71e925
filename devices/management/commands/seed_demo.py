"""Idempotently create the demo user, two homes with time-of-use tariffs, and one device of
every kind; the San Francisco house has an optimisation goal (its plan minimises cost)."""

from datetime import time
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
from grid import selectors as grid_selectors
from grid import services as grid_services
from grid.services import PeriodInput
from planner.models import Objective, OptimizationGoal
from simulators.physics.constants import ALL_DAYS_MASK, WEEKDAYS_MASK

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

WEEKEND_MASK = ALL_DAYS_MASK & ~WEEKDAYS_MASK

# The planner's goal of a demo home: its devices follow a plan, beside their greedy twin.
GOALS = {SF: Objective.COST.value}
# Time-of-use tariffs in each home's local time; carbon and weather come from the default
# (synthetic) providers of the home's region.
TARIFFS: dict[int, dict[str, Any]] = {
    SF: {
        "currency": "USD",
        "standing_charge_per_day": 0.40,
        "export_price_per_kwh": 0.06,
        "periods": [
            PeriodInput(days=ALL_DAYS_MASK, start=time(0), end=time(16), import_price_per_kwh=0.34),
            PeriodInput(
                days=ALL_DAYS_MASK, start=time(16), end=time(21), import_price_per_kwh=0.52
            ),
            PeriodInput(days=ALL_DAYS_MASK, start=time(21), end=time(0), import_price_per_kwh=0.34),
        ],
    },
    BERLIN: {
        "currency": "EUR",
        "standing_charge_per_day": 0.45,
        "export_price_per_kwh": 0.08,
        "periods": [
            PeriodInput(days=WEEKDAYS_MASK, start=time(0), end=time(6), import_price_per_kwh=0.24),
            PeriodInput(days=WEEKDAYS_MASK, start=time(6), end=time(17), import_price_per_kwh=0.33),
            PeriodInput(
                days=WEEKDAYS_MASK, start=time(17), end=time(21), import_price_per_kwh=0.41
            ),
            PeriodInput(days=WEEKDAYS_MASK, start=time(21), end=time(0), import_price_per_kwh=0.27),
            PeriodInput(days=WEEKEND_MASK, start=time(0), end=time(0), import_price_per_kwh=0.29),
        ],
    },
}


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
        tariffs = 0
        for home_index, tariff in TARIFFS.items():
            home = homes[home_index]
            # A tariff the demo user changed is theirs: only a home without one gets the demo's.
            if grid_selectors.tariff_view(user_id=user.pk, home_id=home.pk).is_default:
                grid_services.tariff_set(
                    user_id=user.pk, home_id=home.pk, kind="time_of_use", **tariff
                )
                tariffs += 1
        goals = 0
        for home_index, objective in GOALS.items():
            home = homes[home_index]
            # A goal the demo user changed is theirs: only a home without one gets the demo's.
            # Stored as the devices are; the planner's first run at beat's start plans it.
            _, created = OptimizationGoal.objects.get_or_create(
                home=home, defaults={"objective": objective}
            )
            goals += created
        self.stdout.write(
            f"demo data ready: user '{DEMO_USERNAME}', {len(homes)} homes, {made} devices, "
            f"{tariffs} tariffs and {goals} goals added"
        )
