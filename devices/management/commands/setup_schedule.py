"""Install (or update) the farm's periodic tick, the grid signals' fetch and the planner's
runs in django-celery-beat; idempotent."""

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

TICK_TASK_NAME = "simulation farm: energy tick"
SIGNALS_TASK_NAME = "grid signals: fetch"
PLAN_TASK_NAME = "planner: plan the fleet"
APPLY_TASK_NAME = "planner: apply plans to physical devices"
APPLY_EVERY_S = 60
RUN_AT_START = datetime(2000, 1, 1, tzinfo=UTC)
"""A start time in the past: beat runs the task as soon as it starts when the task never ran
(django-celery-beat otherwise waits one whole interval), so a new deployment plans at once."""


def _install(name: str, defaults: dict[str, Any]) -> str:
    task, created = PeriodicTask.objects.get_or_create(name=name, defaults=defaults)
    changed: list[str] = []
    if not created:
        changed = [field for field, value in defaults.items() if getattr(task, field) != value]
        for field in changed:
            setattr(task, field, defaults[field])
        if changed:
            task.save()
    return "installed" if created else "updated" if changed else "unchanged"


class Command(BaseCommand):
    help = "Install (or update) the periodic energy tick and signal fetch; safe to run repeatedly."

    def handle(self, *args: Any, **options: Any) -> None:
        period = int(settings.TICK_SECONDS)
        # Beat fires twice per tick: its interval drifts late by a little every time, and with
        # one firing per tick the drift would now and then put two firings in one interval and
        # none in the next (a lost tick). The second firing in an interval finds the tick taken.
        schedule, _ = IntervalSchedule.objects.get_or_create(
            every=period * 500_000, period=IntervalSchedule.MICROSECONDS
        )
        # A message older than most of half a tick is dropped, so a backlog after an outage is
        # not replayed (the once-per-tick lock would no-op it anyway).
        outcome = _install(
            TICK_TASK_NAME,
            {
                "task": "simulators.run_energy_simulation",
                "interval": schedule,
                "queue": "default",
                "expire_seconds": max(1, period * 9 // 20),
                "enabled": True,
                "args": "[]",
                "kwargs": "{}",
            },
        )
        self.stdout.write(f"setup_schedule: tick every {period}s, beat twice per tick ({outcome})")
        # Grid signals (grid.tasks): sent by name, so devices never imports grid. A backlog
        # older than half the interval is dropped; the next run fetches the same range.
        fetch_s = int(settings.GRID_FETCH_INTERVAL_S)
        fetch_schedule, _ = IntervalSchedule.objects.get_or_create(
            every=fetch_s, period=IntervalSchedule.SECONDS
        )
        outcome = _install(
            SIGNALS_TASK_NAME,
            {
                "task": "grid.fetch_signals",
                "interval": fetch_schedule,
                "queue": "default",
                "expire_seconds": max(1, fetch_s // 2),
                "enabled": True,
                "args": "[]",
                "kwargs": "{}",
            },
        )
        self.stdout.write(f"setup_schedule: grid signals every {fetch_s}s ({outcome})")
        # The planner (planner.tasks), by name too: the fleet in shards every
        # PLANNER_INTERVAL_S, and every minute each physical device's action of the current
        # interval (once per interval: a Decision per device and interval start).
        plan_s = int(settings.PLANNER_INTERVAL_S)
        for name, task, every_s in (
            (PLAN_TASK_NAME, "planner.plan_fleet", plan_s),
            (APPLY_TASK_NAME, "planner.apply_plans", APPLY_EVERY_S),
        ):
            every, _ = IntervalSchedule.objects.get_or_create(
                every=every_s, period=IntervalSchedule.SECONDS
            )
            outcome = _install(
                name,
                {
                    "task": task,
                    "interval": every,
                    "queue": "default",
                    "expire_seconds": max(1, every_s // 2),
                    "enabled": True,
                    "args": "[]",
                    "kwargs": "{}",
                    "start_time": RUN_AT_START,
                },
            )
            self.stdout.write(f"setup_schedule: {task} every {every_s}s ({outcome})")
