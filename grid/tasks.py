"""The periodic fetch of grid signals (thin: the work is ``services.signals_fetch``).

Installed in django-celery-beat by ``python manage.py setup_schedule``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from grid import services

logger = logging.getLogger(__name__)

MAX_RETRIES = 3
RETRY_CAP_S = 600


def retry_countdown(retries: int, base_s: float | None = None) -> int:
    """Seconds before retry number ``retries + 1``: doubling from ``GRID_FETCH_RETRY_BASE_S``
    (30 s), at most 10 minutes."""
    base = float(settings.GRID_FETCH_RETRY_BASE_S if base_s is None else base_s)
    return int(min(RETRY_CAP_S, base * 2**retries))


@shared_task(
    name="grid.fetch_signals",
    bind=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=240,
    time_limit=300,
)
def signals_fetch_task(self: Any, *, providers: list[str] | None = None, **_: object) -> None:
    """Fetch and store every configured provider's signals; retry the failed ones with backoff."""
    try:
        report = services.signals_fetch(now=datetime.now(UTC), only=providers)
    except SoftTimeLimitExceeded:
        logger.warning("grid signal fetch ran out of time; the next run continues")
        return
    if not report.failed:
        return
    if self.request.retries >= MAX_RETRIES:
        logger.warning("grid signal providers still failing after retries: %s", report.failed)
        return
    raise self.retry(
        kwargs={"providers": report.failed}, countdown=retry_countdown(self.request.retries)
    )
