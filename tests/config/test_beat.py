"""Beat's scheduler keeps the tick coming when the wall clock steps back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from celery_app import app
from config.beat import ClockSafeEntry, clock_stepped_back

pytestmark = pytest.mark.django_db


def _task(last_run_at: datetime) -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name="tick", task="simulators.run_energy_simulation", interval=every,
        last_run_at=last_run_at,
    )  # fmt: skip


def test_an_entry_that_last_ran_in_the_future_is_due_one_interval_from_now() -> None:
    an_hour_ahead = datetime.now(UTC) + timedelta(hours=1)  # the clock stepped back an hour

    plain = ModelEntry(_task(an_hour_ahead), app=app).is_due()
    safe_entry = ClockSafeEntry(PeriodicTask.objects.get(name="tick"), app=app)
    safe = safe_entry.is_due()

    assert not plain.is_due and plain.next > 3000  # the plain scheduler waits out the hour
    assert not safe.is_due and safe.next <= 2
    assert safe_entry.last_run_at <= datetime.now(UTC)


def test_clock_stepped_back_compares_naive_utc_and_aware_instants() -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert clock_stepped_back(datetime(2026, 6, 1, 13, 0), now)
    assert not clock_stepped_back(now - timedelta(seconds=1), now)
    assert not clock_stepped_back(None, now)
