"""Periodic tasks for real hardware (thin: each calls one service in devices.hardware).

Installed in django-celery-beat by ``python manage.py setup_hardware_schedule``.
"""

from datetime import datetime, timedelta

from celery import shared_task

from devices import hardware


@shared_task(name="devices.heartbeat_check", ignore_result=True)
def heartbeat_check_task(**_: object) -> None:
    """Flush seen devices, mark silent ones offline, check thresholds against live values."""
    hardware.heartbeat_check()
    hardware.alerts_check()


@shared_task(name="devices.commands_retry", ignore_result=True)
def commands_retry_task(**_: object) -> None:
    """Re-send unacknowledged commands with backoff; expire the overdue ones."""
    hardware.commands_retry()


@shared_task(name="devices.readings_maintain", ignore_result=True)
def readings_maintain_task(*, until: str | None = None, hours: int = 3, **_: object) -> None:
    """Roll the last ``hours`` hours of readings up into hourly rows, then prune old raw ones."""
    end = datetime.fromisoformat(until) if until else hardware.now_utc()
    hardware.readings_rollup(since=end - timedelta(hours=hours), until=end)
    hardware.readings_prune(now=end)
