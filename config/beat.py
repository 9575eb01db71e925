"""Beat's scheduler: django-celery-beat's, safe when the wall clock steps back.

An interval entry is due at ``last_run_at + interval``. When the clock steps back (an NTP
correction, a virtual machine restored), ``last_run_at`` lies in the future and the entry is
not due again until the clock has caught up: one hour back, one hour without ticks. This
scheduler notices a ``last_run_at`` ahead of the clock and moves it to now, so the entry runs
again one interval later. A step forward needs nothing: the entry is due at once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

logger = logging.getLogger(__name__)


def _aware(at: datetime) -> datetime:
    """Naive instants are UTC, as django-celery-beat takes them."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def clock_stepped_back(last_run_at: datetime | None, now: datetime) -> bool:
    """Whether an entry's last run lies ahead of ``now`` (each naive UTC or aware)."""
    return last_run_at is not None and _aware(last_run_at) > _aware(now)


class ClockSafeEntry(ModelEntry):
    def is_due(self) -> Any:
        now: datetime = self._default_now()
        last: datetime | None = getattr(self, "last_run_at", None)
        if clock_stepped_back(last, now):
            logger.warning(
                "beat: %s last ran at %s, after now (%s): the clock stepped back; "
                "counting its interval from now",
                self.name,
                last,
                now,
            )
            self.last_run_at = self.model.last_run_at = now
        return super().is_due()


class ClockSafeScheduler(DatabaseScheduler):
    Entry = ClockSafeEntry
