"""How the domain asks the simulation for work without importing it: tasks by name."""

from __future__ import annotations

from celery import current_app
from django.db import transaction

SIMULATE_DEVICE_TASK = "simulators.simulate_device"


def device_step_request(*, device_id: int) -> None:
    """Once the current transaction commits, step this simulated device's home (on demand)."""

    def send() -> None:
        current_app.tasks[SIMULATE_DEVICE_TASK].apply_async(kwargs={"device_id": device_id})

    transaction.on_commit(send, robust=True)
