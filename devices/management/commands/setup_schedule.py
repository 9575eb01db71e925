"""Install (or update) the farm's periodic tick in django-celery-beat; idempotent."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

TICK_TASK_NAME = "simulation farm: energy tick"


class Command(BaseCommand):
    help = "Install (or update) the periodic energy-simulation tick; safe to run repeatedly."

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
        defaults = {
            "task": "simulators.run_energy_simulation",
            "interval": schedule,
            "queue": "default",
            "expire_seconds": max(1, period * 9 // 20),
            "enabled": True,
            "args": "[]",
            "kwargs": "{}",
        }
        task, created = PeriodicTask.objects.get_or_create(name=TICK_TASK_NAME, defaults=defaults)
        changed: list[str] = []
        if not created:
            changed = [name for name, value in defaults.items() if getattr(task, name) != value]
            for name in changed:
                setattr(task, name, defaults[name])
            if changed:
                task.save()
        outcome = "installed" if created else "updated" if changed else "unchanged"
        self.stdout.write(f"setup_schedule: tick every {period}s, beat twice per tick ({outcome})")
