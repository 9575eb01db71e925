"""Generators: rating +-5 % while running, deterministic per device and tick."""

from __future__ import annotations

import numpy as np

from simulators.physics.generator import generator_power_w

TICK_S = 1_782_000_000


def test_running_generators_stay_within_5_percent_and_stopped_ones_give_zero() -> None:
    ids = np.arange(10_000)
    running = ids % 3 != 0
    power_w = generator_power_w(ids, TICK_S, rated_power_w=5_000.0, running=running, seed=1)
    assert np.all(power_w[~running] == 0.0)
    on = power_w[running]
    assert on.min() >= 4_750.0
    assert on.max() <= 5_250.0
    assert on.min() < 4_760.0  # the whole band is used
    assert on.max() > 5_240.0
    assert abs(on.mean() - 5_000.0) < 10.0


def test_output_is_fixed_by_device_and_tick() -> None:
    first = generator_power_w([1, 2], TICK_S, rated_power_w=3_000.0, running=True, seed=4)
    again = generator_power_w([1, 2], TICK_S, rated_power_w=3_000.0, running=True, seed=4)
    later = generator_power_w([1, 2], TICK_S + 60, rated_power_w=3_000.0, running=True, seed=4)
    np.testing.assert_array_equal(first, again)
    assert np.all(first != later)
    one = generator_power_w(2, TICK_S, rated_power_w=3_000.0, running=True, seed=4)
    assert float(one) == first[1]
