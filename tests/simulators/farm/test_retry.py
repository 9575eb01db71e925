"""How long a tick's shard or finalize keeps retrying while PostgreSQL is away."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simulators import farm

TICK = datetime(2026, 6, 22, 19, 0, tzinfo=UTC)


def test_retries_double_from_half_a_second_up_to_a_tick(settings: Any) -> None:
    settings.TICK_SECONDS = 60
    start = TICK.timestamp()
    delays = [farm.tick_retry_in_s(tick_at=TICK, retries=n, now_s=start) for n in range(9)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_no_retry_lands_past_four_ticks_from_the_tick_start(settings: Any) -> None:
    settings.TICK_SECONDS = 60
    start = TICK.timestamp()
    assert farm.tick_retry_in_s(tick_at=TICK, retries=7, now_s=start + 180) == 60.0  # at 240 s
    assert farm.tick_retry_in_s(tick_at=TICK, retries=7, now_s=start + 181) is None
    assert farm.tick_retry_in_s(tick_at=TICK, retries=0, now_s=start + 240) is None
