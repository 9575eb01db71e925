"""The planner's services on the database: a stored plan is answered again only while it is
fresh and made from the same inputs; goals are the owner's alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from devices.models import Home
from planner import selectors, services
from planner.models import HomePlan, OptimizationGoal
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory

pytestmark = pytest.mark.django_db

QUARTER = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def home(user: Any) -> Any:
    home = HomeFactory(owner=user, latitude=48.1, longitude=11.6, timezone="Europe/Berlin")
    SolarPanelFactory(home=home)
    BatteryFactory(home=home, level_wh=5000.0)
    return home


def plan_at(home: Any, now: datetime) -> services.PlanView:
    return services.plan_get_or_make(user_id=home.owner_id, home_id=home.pk, now=now)


def test_a_plan_is_reused_within_its_quarter_hour_and_remade_after(home: Any) -> None:
    first = plan_at(home, QUARTER + timedelta(minutes=1))
    again = plan_at(home, QUARTER + timedelta(minutes=14))
    later = plan_at(home, QUARTER + timedelta(minutes=16))
    assert not first.reused and again.reused and not later.reused
    assert again.created_at == first.created_at and again.inputs_hash == first.inputs_hash
    assert later.starts_at == QUARTER + timedelta(minutes=15)
    assert later.inputs_hash != first.inputs_hash
    assert HomePlan.objects.filter(home=home).count() == 1


def test_a_changed_device_makes_a_new_plan(home: Any) -> None:
    first = plan_at(home, QUARTER + timedelta(minutes=1))
    BatteryFactory(home=home, capacity_wh=4000.0)
    second = plan_at(home, QUARTER + timedelta(minutes=2))
    assert not second.reused and second.inputs_hash != first.inputs_hash
    assert len(second.payload["devices"]) == 2


def test_a_stored_plan_older_than_fifteen_minutes_is_not_answered(home: Any) -> None:
    first = plan_at(home, QUARTER + timedelta(minutes=1))
    HomePlan.objects.filter(home=home).update(created_at=first.created_at - timedelta(minutes=15))
    second = plan_at(home, QUARTER + timedelta(minutes=1))
    assert not second.reused and second.inputs_hash == first.inputs_hash


def test_another_users_home_is_not_found_and_nothing_is_stored(home: Any, other_user: Any) -> None:
    with pytest.raises(Home.DoesNotExist):
        services.plan_get_or_make(user_id=other_user.pk, home_id=home.pk, now=QUARTER)
    with pytest.raises(ValidationError) as error:
        services.goal_set(user_id=other_user.pk, home_id=home.pk, objective="cost")
    assert error.value.error_dict["home_id"][0].code == "not_found"
    with pytest.raises(Home.DoesNotExist):
        selectors.home_forecast(user_id=other_user.pk, home_id=home.pk, now=QUARTER, hours=4)
    assert not HomePlan.objects.exists() and not OptimizationGoal.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"objective": "fastest"}, "objective"),
        ({"objective": "cost", "grid_import_max_w": float("nan")}, "grid_import_max_w"),
        ({"objective": "cost", "grid_export_max_w": float("inf")}, "grid_export_max_w"),
    ],
)
def test_goal_mistakes_name_their_field(home: Any, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        services.goal_set(user_id=home.owner_id, home_id=home.pk, **fields)
    assert list(error.value.error_dict) == [field]
    assert not OptimizationGoal.objects.exists()
