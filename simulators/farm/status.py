"""How far behind the farm is: the newest finalized tick, and whether there is anything to tick.

Read by the web process's readiness check (``/readyz``); the farm records the newest finalized
tick at the end of every finalize (:func:`simulators.farm.run.tick_finalize`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from devices.live import ticks
from devices.models import Home

if TYPE_CHECKING:
    import redis


@dataclass(frozen=True)
class FarmLag:
    #: The newest finalized tick, or None when none was finalized yet.
    last_tick_at: datetime | None
    #: Seconds from that tick to ``now``. [s]
    age_s: float | None
    #: Whether any home exists: without one there is nothing to tick.
    homes: bool


def farm_lag(*, now: datetime, conn: redis.Redis | None = None) -> FarmLag:
    """The newest finalized tick and its age at ``now`` (aware UTC)."""
    last = ticks.tick_last_finalized(conn)
    last_at = datetime.fromtimestamp(last, tz=UTC) if last is not None else None
    age_s = (now - last_at).total_seconds() if last_at is not None else None
    return FarmLag(last_tick_at=last_at, age_s=age_s, homes=Home.objects.exists())
