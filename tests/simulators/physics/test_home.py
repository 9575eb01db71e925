"""Home balance: sums per home, base load, self-consumption dispatch, sign convention."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.physics import home


def test_sum_by_home_scatters_devices_into_homes() -> None:
    totals = home.sum_by_home([1.0, 2.0, 4.0, 8.0], [2, 0, 2, 3], home_count=5)
    np.testing.assert_array_equal(totals, [2.0, 0.0, 5.0, 8.0, 0.0])
    assert home.sum_by_home(np.zeros(0), np.zeros(0, dtype=int), home_count=3).shape == (3,)


def test_base_load_has_the_given_daily_mean_and_evening_peak() -> None:
    seconds = np.arange(0, 86_400, 60)
    load_w = home.base_load_w(400.0, seconds)
    assert load_w.mean() == pytest.approx(400.0, rel=1e-12)
    assert 17 <= int(np.argmax(load_w) // 60) <= 20
    assert int(np.argmin(load_w) // 60) in range(1, 6)
    # Periodic: midnight equals 24:00.
    assert float(home.base_load_w(400.0, 0.0)) == float(home.base_load_w(400.0, 86_400.0))


def test_dispatch_splits_surplus_in_proportion_to_limits() -> None:
    requests = home.self_consumption_requests_w(
        [3_000.0, -10_000.0, 0.0],
        storage_home_index=[0, 0, 1, 1, 2],
        charge_limit_w=[1_000.0, 4_000.0, 5_000.0, 0.0, 5_000.0],
        discharge_limit_w=[5_000.0, 5_000.0, 2_000.0, 3_000.0, 5_000.0],
        home_count=3,
    )
    # Home 0: 3 kW surplus over 1 + 4 kW of charge room -> 60 % of each.
    # Home 1: 10 kW deficit but only 2 + 3 kW available -> both at their limit.
    # Home 2: balanced -> nothing.
    np.testing.assert_allclose(requests, [600.0, 2_400.0, -2_000.0, -3_000.0, 0.0])


def test_dispatch_never_exceeds_the_need() -> None:
    requests = home.self_consumption_requests_w(
        [-1_000.0],
        storage_home_index=[0, 0],
        charge_limit_w=[5_000.0, 0.0],
        discharge_limit_w=[3_000.0, 1_000.0],
        home_count=1,
    )
    np.testing.assert_allclose(requests, [-750.0, -250.0])


def test_home_balance_sign_convention_and_self_sufficiency() -> None:
    balance = home.home_balance(
        production_w=[0.0, 5_000.0, 1_000.0, 0.0, 2_000.0],
        consumption_w=[1_000.0, 1_000.0, 2_000.0, 0.0, 1_000.0],
        storage_flow_w=[0.0, 2_000.0, -500.0, 0.0, 3_000.0],
        charging_w=[0.0, 2_000.0, 0.0, 0.0, 3_000.0],
    )
    # net = consumption + storage - production; > 0 import.
    np.testing.assert_allclose(balance.net_grid_flow_w, [1_000.0, -2_000.0, 500.0, 0.0, 2_000.0])
    # 1 - import / (consumption + charging): grid only 0; exporting 1; 500 of 2000 imported
    # 0.75; no demand 1; 2000 of 4000 imported 0.5.
    np.testing.assert_allclose(balance.self_sufficiency, [0.0, 1.0, 0.75, 1.0, 0.5])


def test_scalar_and_array_forms_agree() -> None:
    seconds = np.linspace(0, 86_399, 50)
    many = home.base_load_w(321.0, seconds)
    for i, value in enumerate(seconds):
        assert float(home.base_load_w(321.0, float(value))) == pytest.approx(many[i], rel=1e-15)
    ss = home.self_sufficiency([100.0, 0.0], [0.0, 50.0], [50.0, 10.0])
    assert float(home.self_sufficiency(100.0, 0.0, 50.0)) == ss[0]
