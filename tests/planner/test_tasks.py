"""The planner's tasks through a real Celery worker, Redis and PostgreSQL: the periodic task
plans every home with a goal, in shard ranges on the sim queue, and no home without one; a
new goal asks for its home's plan; plans reach physical devices as commands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from celery_app import app
from planner import services
from planner.models import Decision, HomePlan, OptimizationGoal
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory
from tests.grid.celery_worker import default_queue_worker
from tests.polling import wait_until
from tests.simulators.farm.stack import environment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SHARD_HOMES = 3


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "worker.log"
    env = environment(SIM_SHARD_HOMES=SHARD_HOMES, LOG_LEVEL="INFO")
    with default_queue_worker(
        ["celery", "-A", "celery_app", "worker"], env, log, "default,sim,plan"
    ):
        yield log


def _count(lines: list[str], name: str) -> int:
    return sum(int(found[1]) for line in lines if (found := re.search(rf"'{name}': (\d+)", line)))


def _home(owner: Any, *, goal: bool) -> Any:
    home = HomeFactory(owner=owner, latitude=48.1, longitude=11.6, timezone="Europe/Berlin")
    SolarPanelFactory(home=home)
    BatteryFactory(home=home, level_wh=4000.0, source="physical", status="online")
    if goal:
        OptimizationGoal.objects.create(home=home, objective="cost")
    return home


def test_the_fleet_is_planned_in_shards_and_its_plans_applied(
    worker: Path, user: Any, other_user: Any
) -> None:
    with_goal = [_home(user, goal=True) for _ in range(4)] + [_home(other_user, goal=True)]
    without = [_home(user, goal=False), _home(other_user, goal=False)]

    app.send_task("planner.plan_fleet", kwargs={}, queue="default")

    wait_until(lambda: HomePlan.objects.count() >= len(with_goal), "every home's plan")
    plans = {plan.home_id: plan for plan in HomePlan.objects.all()}
    assert set(plans) == {home.pk for home in with_goal}
    assert {plan.status for plan in plans.values()} == {"optimal"}
    wanted = {(h.pk - h.pk % SHARD_HOMES, h.pk - h.pk % SHARD_HOMES + SHARD_HOMES)
              for h in with_goal}  # fmt: skip
    wait_until(
        lambda: len(re.findall(r"planner: homes \d+-\d+", worker.read_text())) >= len(wanted),
        "every shard's log line",
    )
    shards = {
        (int(a), int(b)) for a, b in re.findall(r"planner: homes (\d+)-(\d+)", worker.read_text())
    }
    assert shards == wanted

    # Planned again within the interval: every plan is kept.
    created = {home_id: plan.created_at for home_id, plan in plans.items()}
    app.send_task("planner.plan_fleet", kwargs={}, queue="default")
    wait_until(
        lambda: len(re.findall(r"planner: homes \d+-\d+", worker.read_text())) >= 2 * len(wanted),
        "the second run's shards",
    )
    second = re.findall(r"planner: homes \d+-\d+: (.*)", worker.read_text())[len(wanted) :]
    first_start = {plan.starts_at for plan in plans.values()}
    if {plan.starts_at for plan in HomePlan.objects.all()} == first_start:
        assert _count(second, "kept") == len(with_goal)
        assert {p.home_id: p.created_at for p in HomePlan.objects.all()} == created
    else:  # the run crossed into the next interval: a new horizon, every plan renewed
        assert _count(second, "planned") == len(with_goal)

    app.send_task("planner.apply_plans", kwargs={}, queue="default")
    wait_until(lambda: Decision.objects.count() >= len(with_goal), "a decision per device")
    decided = set(Decision.objects.values_list("device__home_id", flat=True))
    assert decided == {home.pk for home in with_goal}
    assert all(h.pk not in decided for h in without)
    assert set(Decision.objects.values_list("source", flat=True)) == {"command"}


def test_a_new_goal_asks_for_its_homes_plan(worker: Path, user: Any, other_user: Any) -> None:
    home = _home(user, goal=False)
    neighbour = _home(user, goal=True)

    services.goal_set(user_id=user.pk, home_id=home.pk, objective="carbon")

    wait_until(lambda: HomePlan.objects.filter(home=home).exists(), "the new goal's plan")
    assert HomePlan.objects.get(home=home).objective == "carbon"
    # Only that home is planned now; its shard's other homes wait for the periodic run.
    assert not HomePlan.objects.filter(home=neighbour).exists()


def test_setup_schedule_installs_the_planner() -> None:
    call_command("setup_schedule")
    call_command("setup_schedule")
    fleet = PeriodicTask.objects.get(task="planner.plan_fleet")
    assert fleet.interval is not None and fleet.interval.every == 900
    assert 0 < fleet.expire_seconds < 900 and fleet.enabled
    applying = PeriodicTask.objects.get(task="planner.apply_plans")
    assert applying.interval is not None and applying.interval.every == 60
    assert 0 < applying.expire_seconds < 60
    assert PeriodicTask.objects.filter(task__startswith="planner.").count() == 2
