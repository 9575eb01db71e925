"""Model validation: full_clean names the bad field; the database refuses what slips past."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from devices.models import Device, DeviceKind
from tests.devices.factories import (
    ALL_DEVICE_FACTORIES,
    AirConditionerFactory,
    BatteryFactory,
    ElectricVehicleFactory,
    EnergyMeterFactory,
    GeneratorFactory,
    HeaterFactory,
    HomeFactory,
    SolarPanelFactory,
)

pytestmark = pytest.mark.django_db


def invalid_fields(instance: Any) -> set[str]:
    with pytest.raises(ValidationError) as exc:
        instance.full_clean()
    return set(exc.value.message_dict)


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"latitude": 90.5}, "latitude"),
        ({"latitude": -91}, "latitude"),
        ({"longitude": 180.01}, "longitude"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "CET+1"}, "timezone"),
        ({"base_load_w": -1}, "base_load_w"),
        ({"base_load_w": 1e308}, "base_load_w"),
        ({"base_load_w": float("inf")}, "base_load_w"),
        ({"latitude": float("nan")}, "latitude"),
        ({"longitude": float("nan")}, "longitude"),
        ({"timezone": "localtime"}, "timezone"),  # the host's zone, whatever it is
        ({"timezone": "Factory"}, "timezone"),  # a placeholder, not a place
        ({"name": " \t "}, "name"),
        ({"name": "Casa\x00"}, "name"),
        ({"name": "Casa\x1b[31m"}, "name"),
        ({"name": "Casa\ud800"}, "name"),
    ],
)
def test_home_validation(fields: dict[str, Any], bad: str) -> None:
    home = HomeFactory.build(owner=HomeFactory().owner, **fields)
    assert invalid_fields(home) == {bad}


def test_home_accepts_edges() -> None:
    home = HomeFactory.build(
        owner=HomeFactory().owner, latitude=-90, longitude=180, timezone="Pacific/Chatham"
    )
    home.full_clean()


@pytest.mark.parametrize(
    ("factory", "fields", "bad"),
    [
        (SolarPanelFactory, {"panel_area_m2": 0}, "panel_area_m2"),
        (SolarPanelFactory, {"efficiency": 0}, "efficiency"),
        (SolarPanelFactory, {"efficiency": 1.01}, "efficiency"),
        (SolarPanelFactory, {"rated_power_w": -5}, "rated_power_w"),
        (SolarPanelFactory, {"tilt_deg": 91}, "tilt_deg"),
        (SolarPanelFactory, {"azimuth_deg": 361}, "azimuth_deg"),
        (BatteryFactory, {"capacity_wh": 0}, "capacity_wh"),
        (BatteryFactory, {"max_charge_w": 0}, "max_charge_w"),
        (BatteryFactory, {"round_trip_efficiency": 1.2}, "round_trip_efficiency"),
        (BatteryFactory, {"min_soc": 1.0}, "min_soc"),
        (BatteryFactory, {"min_soc": -0.1}, "min_soc"),
        (ElectricVehicleFactory, {"battery_capacity_wh": -1}, "battery_capacity_wh"),
        (ElectricVehicleFactory, {"target_soc": 1.5}, "target_soc"),
        (ElectricVehicleFactory, {"reserve_soc": 0.95, "target_soc": 0.9}, "reserve_soc"),
        (ElectricVehicleFactory, {"mode": "flying"}, "mode"),
        (ElectricVehicleFactory, {"away_days": 128}, "away_days"),
        # every number finite and physically bounded
        (SolarPanelFactory, {"panel_area_m2": 1e308}, "panel_area_m2"),
        (SolarPanelFactory, {"rated_power_w": float("inf")}, "rated_power_w"),
        (SolarPanelFactory, {"tilt_deg": float("nan")}, "tilt_deg"),
        (SolarPanelFactory, {"azimuth_deg": float("nan")}, "azimuth_deg"),
        (GeneratorFactory, {"rated_power_w": 1e308}, "rated_power_w"),
        (BatteryFactory, {"capacity_wh": 1e308}, "capacity_wh"),
        (BatteryFactory, {"max_discharge_w": float("inf")}, "max_discharge_w"),
        (ElectricVehicleFactory, {"battery_capacity_wh": 1e308}, "battery_capacity_wh"),
        (ElectricVehicleFactory, {"max_charge_w": 1e308}, "max_charge_w"),
        (ElectricVehicleFactory, {"max_discharge_w": float("nan")}, "max_discharge_w"),
        (ElectricVehicleFactory, {"driving_wh_per_hour": 1e308}, "driving_wh_per_hour"),
        (HeaterFactory, {"setpoint_c": float("nan")}, "setpoint_c"),
        (HeaterFactory, {"rated_power_w": 1e308}, "rated_power_w"),
        (AirConditionerFactory, {"setpoint_c": float("-inf")}, "setpoint_c"),
        (AirConditionerFactory, {"rated_power_w": 1e6 + 1}, "rated_power_w"),
        (EnergyMeterFactory, {"name": ""}, "name"),
        (EnergyMeterFactory, {"name": "meter\n2"}, "name"),
        (EnergyMeterFactory, {"name": "\udfff"}, "name"),
    ],
)
def test_device_validation(factory: Any, fields: dict[str, Any], bad: str) -> None:
    device = factory.build(home=HomeFactory(), **fields)
    assert bad in invalid_fields(device)


def test_names_keep_any_printable_text() -> None:
    home = HomeFactory.build(
        owner=HomeFactory().owner, name="Casa \u00f1 \u5bb6 \U0001f468\u200d\U0001f469"
    )
    home.full_clean()


def test_bounds_themselves_are_accepted() -> None:
    HomeFactory.build(owner=HomeFactory().owner, base_load_w=1e6).full_clean()
    BatteryFactory.build(home=HomeFactory(), capacity_wh=1e7, max_charge_w=1e6).full_clean()


def test_non_finite_numbers_say_so() -> None:
    battery = BatteryFactory.build(home=HomeFactory(), capacity_wh=float("inf"))
    with pytest.raises(ValidationError) as exc:
        battery.full_clean()
    assert exc.value.message_dict == {"capacity_wh": ["Must be a finite number."]}
    battery.capacity_wh = 1e308
    with pytest.raises(ValidationError) as exc:
        battery.full_clean()
    assert exc.value.message_dict == {
        "capacity_wh": ["Must be greater than 0 and at most 10000000 Wh."]
    }


def test_every_kind_validates_its_factory_defaults() -> None:
    home = HomeFactory()
    for factory in ALL_DEVICE_FACTORIES:
        factory.build(home=home).full_clean()


def test_database_refuses_values_that_skip_validation() -> None:
    panel = SolarPanelFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(panel).objects.filter(pk=panel.pk).update(efficiency=1.5)
    battery = BatteryFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(battery).objects.filter(pk=battery.pk).update(capacity_wh=0)
    for value in (1e308, float("inf"), float("nan")):  # PostgreSQL orders NaN above all
        with pytest.raises(IntegrityError), transaction.atomic():
            type(battery).objects.filter(pk=battery.pk).update(max_charge_w=value)
    home = HomeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(home).objects.filter(pk=home.pk).update(base_load_w=1e308)


def test_kind_is_set_from_the_subclass_and_base_resolves_to_child() -> None:
    home = HomeFactory()
    made = [factory(home=home) for factory in ALL_DEVICE_FACTORIES]
    assert {d.kind for d in made} == set(DeviceKind)
    resolved = list(Device.objects.filter(home=home).select_subclasses().order_by("id"))  # type: ignore[attr-defined]
    assert [type(d) for d in resolved] == [type(d) for d in made]


def test_vehicle_modes_are_the_physics_modes() -> None:
    from devices.live.codecs import MODE_NAMES
    from devices.models import EvMode
    from simulators.physics.constants import EV_MODE_NAMES

    assert sorted(EvMode.values) == sorted(EV_MODE_NAMES)
    assert MODE_NAMES == EV_MODE_NAMES
