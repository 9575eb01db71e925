"""Celery tasks of the planner: thin adapters over :mod:`planner.services` and
:mod:`planner.apply`. Installed in django-celery-beat by ``python manage.py setup_schedule``.

Task names are part of deployed beat schedules. Tasks take ids and accept ``**_`` so a rolling
deploy can add arguments; they read the clock themselves, so a delayed one plans for the
interval it runs in.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import shared_task
from django.conf import settings

from planner import apply, dispatch, services

logger = logging.getLogger(__name__)


@shared_task(name="planner.plan_fleet", ignore_result=True)
def plan_fleet_task(**_: Any) -> int:
    """Beat's entry point: one ``planner.plan_shard`` per range of homes with a goal, on the
    ``sim`` queue; a shard not started within the planning interval is dropped (the next
    run plans it)."""
    shards = services.plan_shards(shard_homes=int(settings.SIM_SHARD_HOMES))
    for first, stop in shards:
        dispatch.shard_plan_send(
            home_id_from=first, home_id_to=stop, expires_s=float(settings.PLANNER_INTERVAL_S)
        )
    return len(shards)


@shared_task(name="planner.plan_shard", ignore_result=True, acks_late=True)
def plan_shard_task(*, home_id_from: int, home_id_to: int, **_: Any) -> dict[str, int]:
    """Plan the homes with a goal in ``[home_id_from, home_id_to)`` (stored plans made from
    unchanged inputs are kept). Running it twice plans nothing new."""
    counts = services.plans_refresh(
        home_ids=range(int(home_id_from), int(home_id_to)), now=datetime.now(UTC)
    )
    logger.info("planner: homes %s-%s: %s", home_id_from, home_id_to, counts)
    return counts


@shared_task(name="planner.apply_plans", ignore_result=True)
def apply_plans_task(**_: Any) -> dict[str, int]:
    """Send each physical planned device its plan's action for the current interval, once."""
    return apply.plans_apply(now=datetime.now(UTC))
