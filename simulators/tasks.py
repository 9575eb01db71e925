"""Celery tasks of the simulation farm: thin adapters over :mod:`simulators.farm`.

Task names are part of deployed beat schedules and stay ``simulators.*``. Tasks take ids and ISO
timestamps and accept ``**_`` so a rolling deploy can add arguments.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import Task, chord, shared_task
from django.db import InterfaceError, OperationalError

from simulators import farm

logger = logging.getLogger(__name__)


def tick_run(*, tick_at: datetime | None = None) -> str:
    """Claim the tick containing ``tick_at`` (default now) and start its shards in a chord.

    Returns ``started``, ``duplicate``, ``skipped`` or ``empty``.
    """
    plan = farm.tick_claim(tick_at=tick_at)
    if isinstance(plan, str):
        return plan
    tick = plan.tick_at.isoformat()
    header = [
        simulate_shard_task.s(tick_at=tick, home_id_from=first, home_id_to=last).set(queue="sim")
        for first, last in plan.shards
    ]
    body = finalize_tick_task.s(
        tick_at=tick, shards=[list(shard) for shard in plan.shards], started_at=plan.started_at
    ).set(queue="default")
    try:
        chord(header)(body)
    except Exception:
        farm.tick_abandon(plan)  # nothing runs: let the next tick start
        raise
    return "started"


@shared_task(name="simulators.run_energy_simulation", ignore_result=True)
def run_energy_simulation_task(*, tick_at: str | None = None, **_: Any) -> str:
    """Beat's entry point: start the tick containing ``tick_at`` (default now), at most once."""
    return tick_run(tick_at=datetime.fromisoformat(tick_at) if tick_at else None)


#: Errors of a database that is away for a moment (a restart, a failover): worth a retry.
DATABASE_AWAY = (OperationalError, InterfaceError)


def _retry_in_s(task: Task, tick_at: datetime) -> float | None:
    return farm.tick_retry_in_s(tick_at=tick_at, retries=int(task.request.retries or 0))


# A chord header: its result (a handle in Redis) must be stored for the chord to count it.
@shared_task(name="simulators.simulate_shard", ignore_result=False, acks_late=True, bind=True)
def simulate_shard_task(
    self: Task, *, tick_at: str, home_id_from: int, home_id_to: int, **_: Any
) -> str | None:
    # A failing shard must not hold the tick (and the ticks after it) hostage: its homes go
    # stale, their owners' totals read partial, and finalize logs and counts the gap.
    at = datetime.fromisoformat(tick_at)
    try:
        return farm.shard_simulate(tick_at=at, home_id_from=home_id_from, home_id_to=home_id_to)
    except DATABASE_AWAY:
        delay = _retry_in_s(self, at)
        if delay is not None:
            logger.warning("farm: shard %s-%s of %s: database unavailable; retrying in %.1f s",
                           home_id_from, home_id_to, tick_at, delay)  # fmt: skip
            raise self.retry(countdown=delay, max_retries=None) from None
        logger.exception("farm: shard %s-%s of %s failed", home_id_from, home_id_to, tick_at)
        return None
    except Exception:
        logger.exception("farm: shard %s-%s of %s failed", home_id_from, home_id_to, tick_at)
        return None


@shared_task(name="simulators.finalize_tick", ignore_result=True, acks_late=True, bind=True)
def finalize_tick_task(
    self: Task,
    result_keys: list[str | None],
    *,
    tick_at: str,
    shards: list[list[int]] | None = None,
    started_at: float | None = None,
    **_: Any,
) -> int:
    at = datetime.fromisoformat(tick_at)
    try:
        return farm.tick_finalize(
            result_keys=result_keys, tick_at=at, shards=shards, started_at=started_at
        )
    except DATABASE_AWAY:
        # Finalizing again is harmless (history is unique per home and tick; the rest is
        # rewritten with the same values); giving up would lose the tick and, until its
        # running flag expired, every tick after it.
        delay = _retry_in_s(self, at)
        if delay is None:
            logger.exception("farm: tick %s not finalized: database unavailable", tick_at)
            farm.tick_release(tick_at=at)
            raise
        logger.warning("farm: tick %s: database unavailable; finalizing again in %.1f s",
                       tick_at, delay)  # fmt: skip
        raise self.retry(countdown=delay, max_retries=None) from None


@shared_task(name="simulators.simulate_device", ignore_result=True)
def simulate_device_task(*, device_id: int, **_: Any) -> bool:
    """Step one device (its home) now: after creation or a command, so its state shows at once."""
    try:
        return farm.device_simulate(device_id=int(device_id))
    except Exception:  # an on-demand refresh must never fail the write that asked for it
        logger.exception("farm: on-demand step of device %s failed", device_id)
        return False
