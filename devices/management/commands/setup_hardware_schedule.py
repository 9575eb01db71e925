"""``python manage.py setup_hardware_schedule``: install the real-hardware periodic tasks.

Idempotent (entries are updated by name). Each entry expires before its next run, so a backlog
after an outage is dropped rather than replayed.
"""

from typing import Any

from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

# name -> (task, every seconds)
ENTRIES = {
    "devices: heartbeat and alert check": ("devices.heartbeat_check", 10),
    "devices: command retry": ("devices.commands_retry", 10),
    "devices: readings rollup and retention": ("devices.readings_maintain", 300),
}


class Command(BaseCommand):
    help = "Install the periodic tasks of real hardware (heartbeat, command retry, rollups)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, (task, every_s) in ENTRIES.items():
            schedule, _ = IntervalSchedule.objects.get_or_create(
                every=every_s, period=IntervalSchedule.SECONDS
            )
            PeriodicTask.objects.update_or_create(
                name=name,
                defaults={
                    "task": task,
                    "interval": schedule,
                    "queue": "default",
                    "expire_seconds": max(every_s - 1, 1),
                    "enabled": True,
                },
            )
        self.stdout.write(f"installed {len(ENTRIES)} periodic tasks")
