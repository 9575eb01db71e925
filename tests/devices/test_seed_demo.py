import pytest
from django.core.management import call_command

from accounts.models import User
from devices.models import Device, DeviceKind, Home
from grid.models import Tariff
from planner.models import OptimizationGoal

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_covers_every_kind() -> None:
    call_command("seed_demo")
    call_command("seed_demo")
    user = User.objects.get(username="demo")
    assert user.check_password("gridtwin-demo")
    homes = Home.objects.filter(owner=user)
    assert homes.count() == 2
    assert len({h.timezone for h in homes}) == 2
    kinds = set(Device.objects.filter(home__owner=user).values_list("kind", flat=True))
    assert kinds == set(DeviceKind)
    first_count = Device.objects.count()
    call_command("seed_demo")
    assert Device.objects.count() == first_count


def test_seed_demo_restores_a_changed_password() -> None:
    call_command("seed_demo")
    user = User.objects.get(username="demo")
    user.set_password("something-else-entirely")
    user.save()
    call_command("seed_demo")
    user.refresh_from_db()
    assert user.check_password("gridtwin-demo")


def test_seed_demo_gives_each_home_a_time_of_use_tariff_and_keeps_a_changed_one() -> None:
    call_command("seed_demo")
    tariffs = Tariff.objects.filter(home__owner__username="demo")
    assert tariffs.count() == 2
    assert {t.kind for t in tariffs} == {"time_of_use"}
    assert all(t.periods.count() >= 3 for t in tariffs)
    changed = tariffs.first()
    changed.kind, changed.import_price_per_kwh = "fixed", 0.5
    changed.save()
    changed.periods.all().delete()
    call_command("seed_demo")
    changed.refresh_from_db()
    assert (changed.kind, changed.import_price_per_kwh) == ("fixed", 0.5)


def test_seed_demo_gives_the_san_francisco_house_a_goal_and_keeps_a_changed_one() -> None:
    call_command("seed_demo")
    goals = OptimizationGoal.objects.filter(home__owner__username="demo")
    assert [(g.home.name, g.objective) for g in goals] == [("San Francisco house", "cost")]
    goal = goals.get()
    goal.objective = "carbon"
    goal.save()
    call_command("seed_demo")
    goal.refresh_from_db()
    assert goal.objective == "carbon"
    assert OptimizationGoal.objects.count() == 1
