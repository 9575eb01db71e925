"""How the domain asks the simulation for work without importing it: tasks by name."""

from __future__ import annotations

from functools import cache

from celery import Task, current_app
from django.db import transaction

SIMULATE_DEVICE_TASK = "simulators.simulate_device"


@cache
def _task(name: str) -> Task:  # type: ignore[type-arg]
    # Task modules are found by Celery's autodiscovery, which a worker runs at start and any
    # other process (web, scripts) runs here, once, on first use.
    current_app.loader.import_default_modules()
    return current_app.tasks[name]


def device_step_request(*, device_id: int) -> None:
    """Once the current transaction commits, step this simulated device's home (on demand)."""

    def send() -> None:
        _task(SIMULATE_DEVICE_TASK).apply_async(kwargs={"device_id": device_id})

    transaction.on_commit(send, robust=True)
