"""Tick time: the interval, the aligned tick, and how long a tick's values stay current.

Beat fires ``run_energy_simulation`` twice per interval (``beat_every_s``); the first firing in
an interval claims the tick aligned to its start, the second finds it taken. Tick ``T`` thus
starts by ``T + P/2`` at the latest and its values are current until ``T + 2P``: by then tick
``T + P`` has started by ``T + 1.5P`` and had half an interval to land. A value is never stale
while the farm is on time, and is stale once a tick is missed, wherever beat's offset inside
the interval falls (docs/architecture.md, "Staleness").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings


def tick_seconds() -> int:
    return int(settings.TICK_SECONDS)


def beat_every_s() -> float:
    """How often beat fires the tick task: twice per interval."""
    return tick_seconds() / 2


def tick_align(at: datetime) -> datetime:
    """The start of the tick interval containing ``at`` (aware UTC)."""
    seconds = int(at.timestamp())
    return datetime.fromtimestamp(seconds - seconds % tick_seconds(), tz=UTC)


def tick_after(tick_at: datetime, ticks: int = 1) -> datetime:
    return tick_at + timedelta(seconds=ticks * tick_seconds())


def valid_until(tick_s: int) -> int:
    """The instant (epoch s) after which a value of tick ``tick_s`` is no longer current."""
    return tick_s + 2 * tick_seconds()
