"""The farm's bookkeeping in the real Redis (emptied before each test)."""

from __future__ import annotations

import pytest

from devices.live import ticks

pytestmark = pytest.mark.django_db


def test_the_newest_finalized_tick_only_moves_forward() -> None:
    assert ticks.tick_last_finalized() is None

    assert ticks.tick_finalized(1_800_000_060) == 1_800_000_060
    assert ticks.tick_finalized(1_800_000_000) == 1_800_000_060  # a late finalize of an older one

    assert ticks.tick_last_finalized() == 1_800_000_060
