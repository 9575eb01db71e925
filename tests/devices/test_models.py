"""Model validation: full_clean names the bad field; the database refuses what slips past."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from devices.models import Device, DeviceKind
from tests.devices.factories import (
    ALL_DEVICE_FACTORIES,
    BatteryFactory,
    ElectricVehicleFactory,
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
    ],
)
def test_device_validation(factory: Any, fields: dict[str, Any], bad: str) -> None:
    device = factory.build(home=HomeFactory(), **fields)
    assert bad in invalid_fields(device)


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
