"""How the planner asks for planning work without importing Celery outside its tasks: tasks
by name, sent once the current transaction commits."""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import Task, current_app
from django.db import transaction

PLAN_SHARD_TASK = "planner.plan_shard"
PLAN_QUEUE = "plan"
"""The planner's own queue and worker: a fleet's plans take tens of seconds, which on the
farm's ``sim`` queue would hold its ticks back."""


@cache
def _task(name: str) -> Task:  # type: ignore[type-arg]
    # Task modules are found by Celery's autodiscovery, which a worker runs at start and any
    # other process (web, scripts) runs here, once, on first use.
    current_app.loader.import_default_modules()
    return current_app.tasks[name]


def shard_plan_send(*, home_id_from: int, home_id_to: int, expires_s: float | None = None) -> None:
    """Ask a worker to plan the homes with a goal in ``[home_id_from, home_id_to)`` now."""
    options: dict[str, Any] = {"queue": PLAN_QUEUE}
    if expires_s is not None:
        options["expires"] = expires_s
    _task(PLAN_SHARD_TASK).apply_async(
        kwargs={"home_id_from": home_id_from, "home_id_to": home_id_to}, **options
    )


def home_plan_request(*, home_id: int) -> None:
    """Once the current transaction commits, plan this one home (a shard of one: the periodic
    task plans whole shards; a new goal should not wait for the rest of its shard)."""

    def send() -> None:
        shard_plan_send(home_id_from=home_id, home_id_to=home_id + 1)

    transaction.on_commit(send, robust=True)
