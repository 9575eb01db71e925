"""Deterministic hashing and the cloud factor."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.physics import clouds

TICK_S = 1_782_000_000  # 2026-06-21T00:00:00Z region; any whole second works


def test_splitmix64_matches_the_reference_sequence() -> None:
    # S. Vigna's splitmix64.c seeded with 0 returns these first three outputs; the
    # generator's n-th output is the finaliser of n * golden gamma.
    gamma = 0x9E3779B97F4A7C15
    states = np.array([0, gamma, (2 * gamma) % 2**64], dtype=np.uint64)
    expected = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    assert [int(value) for value in clouds.splitmix64(states)] == expected
    assert int(clouds.splitmix64(0)) == expected[0]


def test_signed_keys_hash_as_twos_complement() -> None:
    assert int(clouds.splitmix64(-1)) == int(clouds.splitmix64(np.uint64(2**64 - 1)))


def test_uniform_draws_are_in_range_and_look_uniform() -> None:
    draws = clouds.deterministic_uniform(np.arange(200_000), TICK_S, seed=1, stream=5)
    assert draws.min() >= 0.0
    assert draws.max() < 1.0
    counts, _ = np.histogram(draws, bins=10, range=(0.0, 1.0))
    assert np.all(np.abs(counts - 20_000) < 5 * np.sqrt(20_000))


def test_draws_depend_on_every_key() -> None:
    base = clouds.deterministic_uniform(7, TICK_S, seed=1, stream=5)
    for other in (
        clouds.deterministic_uniform(8, TICK_S, seed=1, stream=5),
        clouds.deterministic_uniform(7, TICK_S + 1, seed=1, stream=5),
        clouds.deterministic_uniform(7, TICK_S, seed=2, stream=5),
        clouds.deterministic_uniform(7, TICK_S, seed=1, stream=6),
    ):
        assert float(other) != float(base)
    again = clouds.deterministic_uniform(7, TICK_S, seed=1, stream=5)
    assert float(again) == float(base)


def test_cloud_cover_persists_from_tick_to_tick() -> None:
    ticks = TICK_S + 60 * np.arange(7 * 24 * 60)
    cover = clouds.cloud_cover_draw(np.arange(50)[:, None], ticks[None, :], seed=3)
    step = np.abs(np.diff(cover, axis=1))
    assert step.max() < 0.06  # smooth: a 60 s tick moves the cover by a few percent at most
    assert cover.min() == 0.0  # yet clear and overcast spells both happen
    assert cover.max() == 1.0
    assert 0.35 < cover.mean() < 0.65
    # Independent noise would jump by ~1/3 on average; value noise barely moves.
    assert step.mean() < 0.01


def test_cloud_cover_is_continuous_across_knots() -> None:
    knot_s = clouds.FAST_KNOT_INTERVAL_S * (TICK_S // clouds.FAST_KNOT_INTERVAL_S + 1)
    around = clouds.cloud_cover_draw(11, np.array([knot_s - 1, knot_s, knot_s + 1]), seed=9)
    assert np.ptp(around) < 1e-3


def test_cloud_factor_follows_kasten_czeplak() -> None:
    factor = clouds.cloud_factor_from_cover([0.0, 0.5, 1.0, 2.0, -1.0])
    np.testing.assert_allclose(factor, [1.0, 1.0 - 0.75 * 0.5**3.4, 0.25, 0.25, 1.0])


def test_weather_cloud_cover_wins_where_given() -> None:
    ids = np.arange(4)
    drawn = clouds.cloud_factor(ids, TICK_S, seed=4)
    mixed = clouds.cloud_factor(ids, TICK_S, seed=4, weather_cloud_cover=[np.nan, 0.0, 1.0, np.nan])
    assert mixed[1] == 1.0
    assert mixed[2] == pytest.approx(0.25)
    assert mixed[0] == drawn[0]
    assert mixed[3] == drawn[3]


def test_scalar_and_array_forms_agree() -> None:
    ids = np.arange(20)
    many = clouds.cloud_factor(ids, TICK_S, seed=5)
    for device_id in range(20):
        assert float(clouds.cloud_factor(device_id, TICK_S, seed=5)) == many[device_id]
