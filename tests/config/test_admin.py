"""The admin: every model of the project's apps is registered, and every changelist, search
and change page renders for a superuser with rows present; secrets are never form fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.test import Client
from django.urls import reverse

from accounts.models import RefreshToken, User
from devices import hardware
from devices.models import (
    Alert,
    AlertKind,
    AlertRule,
    DeviceCommand,
    HomeEnergyHistory,
    Reading,
    ReadingHourly,
)
from grid.models import SignalPoint
from planner.models import Decision, HomePlan, OptimizationGoal
from tests.accounts.factories import UserFactory
from tests.devices.factories import (
    AirConditionerFactory,
    BatteryFactory,
    ElectricVehicleFactory,
    EnergyMeterFactory,
    GeneratorFactory,
    HeaterFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.grid.factories import TariffPeriodFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
#: Fields that hold secrets or their hashes: never an input of an admin form.
SECRET_FIELDS = ("api_key_hash", "token_hash", "password")


def project_models() -> list[type[models.Model]]:
    """The concrete models of the apps that live in this repository."""
    return [
        model
        for config in apps.get_app_configs()
        # A top-level package of the repository (not one installed in its virtualenv).
        if Path(config.path).resolve().parent == ROOT
        for model in config.get_models()
        if not model._meta.abstract
    ]


@pytest.fixture
def rows() -> None:
    """At least one row of every project model."""
    owner = UserFactory(username="owner")
    now = datetime.now(UTC)
    RefreshToken.objects.create(user=owner, token_hash="0" * 64, expires_at=now + timedelta(days=7))
    home = HomeFactory(owner=owner)
    for factory in (SolarPanelFactory, GeneratorFactory, BatteryFactory, ElectricVehicleFactory,
                    HeaterFactory, AirConditionerFactory):  # fmt: skip
        factory(home=home)
    meter = EnergyMeterFactory(home=home)
    hardware.device_api_key_rotate(user_id=owner.pk, device_id=meter.pk)
    Reading.objects.create(
        device=meter, measured_at=now, received_at=now, seq=1, voltage_v=230.0, current_a=1.0,
        power_w=230.0, energy_wh=1000.0, frequency_hz=50.0, power_factor=1.0,
    )  # fmt: skip
    ReadingHourly.objects.create(
        device=meter, hour=now.replace(minute=0, second=0, microsecond=0), energy_wh=230.0,
        avg_power_w=230.0, min_power_w=200.0, max_power_w=260.0, count=360,
    )  # fmt: skip
    HomeEnergyHistory.objects.create(
        home=home, tick_at=now, production_wh=1.0, consumption_wh=2.0, import_wh=1.0,
        export_wh=0.0, charge_wh=0.0, discharge_wh=0.0,
    )  # fmt: skip
    AlertRule.objects.create(device=meter, power_max_w=3000.0)
    Alert.objects.create(device=meter, kind=AlertKind.POWER_HIGH, message="Power above 3000 W.",
                         value=3500.0, raised_at=now)  # fmt: skip
    DeviceCommand.objects.create(device=meter, command="ping", expires_at=now + timedelta(hours=1))
    TariffPeriodFactory(tariff__home=home)
    SignalPoint.objects.create(
        signal="carbon_intensity", region="GB", source="a-provider", start=now,
        end=now + timedelta(minutes=30), value=180.0, fetched_at=now,
    )  # fmt: skip
    OptimizationGoal.objects.create(home=home, objective="carbon")
    HomePlan.objects.create(
        home=home, inputs_hash="0" * 64, objective="carbon", status="optimal", starts_at=now,
        created_at=now, payload={"expected": {"cost": 1.0}},
    )  # fmt: skip
    Decision.objects.create(
        home=home, device=meter, interval_start=now, interval_end=now + timedelta(minutes=15),
        action="charge", power_w=1000.0, objective="carbon", plan_hash="0" * 64,
        inputs_hash="0" * 64, expected_cost=0.1, expected_carbon_g=50.0, source="command",
    )  # fmt: skip


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))
    return client


def test_every_project_model_is_registered() -> None:
    found = project_models()
    assert {model._meta.app_label for model in found} >= {"accounts", "devices"}
    missing = [model.__name__ for model in found if not admin.site.is_registered(model)]
    assert missing == []


def test_every_changelist_search_and_change_page_renders(
    rows: None, superuser_client: Client
) -> None:
    for model in project_models():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = superuser_client.get(changelist)
        assert response.status_code == 200, changelist
        if admin.site.get_model_admin(model).search_fields:
            assert superuser_client.get(changelist, {"q": "a"}).status_code == 200, changelist
        row = model._default_manager.order_by("pk").first()
        assert row is not None, f"no {meta.model_name} row to open"
        change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk])
        page = superuser_client.get(change)
        assert page.status_code == 200, change
        html = page.content.decode()
        for field in SECRET_FIELDS:
            assert f'name="{field}"' not in html, (change, field)


def test_user_admin_changes_no_password_hash_in_a_form(superuser_client: Client) -> None:
    user = User.objects.create_user("someone", password="y" * 20)
    page = superuser_client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert page.status_code == 200
    assert user.password not in page.content.decode()
