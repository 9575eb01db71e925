"""Battery step: limits, state-of-charge bounds and energy conservation for any input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.physics.battery import BatteryParams, battery_params_step, battery_step

finite: dict[str, Any] = {"allow_nan": False, "allow_infinity": False}
capacities = st.one_of(st.just(0.0), st.floats(0.0, 200_000.0, **finite))
powers = st.one_of(st.just(0.0), st.floats(0.0, 50_000.0, **finite))
requests = st.one_of(st.just(0.0), st.floats(-1e6, 1e6, **finite))
durations = st.one_of(st.just(0.0), st.just(5e-324), st.floats(0.0, 86_400.0, **finite))
fractions = st.floats(0.0, 1.0, **finite)
efficiencies = st.floats(0.05, 1.0, **finite)


@settings(max_examples=400, deadline=None)
@given(
    capacity_wh=capacities,
    level_fraction=st.floats(-0.5, 1.5, **finite),
    max_charge_w=powers,
    max_discharge_w=powers,
    round_trip_efficiency=efficiencies,
    min_soc=fractions,
    requested_flow_w=requests,
    dt_s=durations,
)
def test_bounds_hold_and_energy_is_conserved(
    capacity_wh: float,
    level_fraction: float,
    max_charge_w: float,
    max_discharge_w: float,
    round_trip_efficiency: float,
    min_soc: float,
    requested_flow_w: float,
    dt_s: float,
) -> None:
    level_wh = level_fraction * capacity_wh
    new_level_wh, flow_w = battery_step(
        level_wh,
        requested_flow_w,
        capacity_wh=capacity_wh,
        max_charge_w=max_charge_w,
        max_discharge_w=max_discharge_w,
        round_trip_efficiency=round_trip_efficiency,
        min_soc=min_soc,
        dt_s=dt_s,
    )
    new_level, flow = float(new_level_wh), float(flow_w)
    assert np.isfinite(new_level)
    assert np.isfinite(flow)
    # Power limits.
    assert -max_discharge_w <= flow <= max_charge_w
    # Flow never goes against the request, nor beyond it.
    assert abs(flow) <= abs(requested_flow_w)
    assert flow == 0.0 or np.sign(flow) == np.sign(requested_flow_w)
    # State-of-charge bounds.
    assert 0.0 <= new_level <= capacity_wh
    start = min(max(level_wh, 0.0), capacity_wh)
    floor = min_soc * capacity_wh
    if start >= floor:
        assert new_level >= floor
    else:
        assert new_level >= start  # below the floor: may charge, never discharge
    # Energy conservation, losses taken once, on charge.
    hours = dt_s / 3600.0
    expected = start + (round_trip_efficiency * max(flow, 0.0) + min(flow, 0.0)) * hours
    assert new_level == pytest.approx(expected, rel=1e-12, abs=1e-9 * max(capacity_wh, 1.0))
    # Zero duration moves nothing.
    if dt_s == 0.0:
        assert new_level == start


def test_charging_to_full_stops_at_capacity_exactly() -> None:
    level, flow = battery_step(
        9_900.0,
        5_000.0,
        capacity_wh=10_000.0,
        max_charge_w=5_000.0,
        max_discharge_w=5_000.0,
        round_trip_efficiency=0.9,
        min_soc=0.1,
        dt_s=3600.0,
    )
    assert float(level) == pytest.approx(10_000.0, abs=1e-9)
    assert float(flow) == pytest.approx(100.0 / 0.9)


def test_discharge_stops_at_min_soc_and_delivers_what_leaves() -> None:
    level, flow = battery_step(
        1_500.0,
        -5_000.0,
        capacity_wh=10_000.0,
        max_charge_w=5_000.0,
        max_discharge_w=5_000.0,
        round_trip_efficiency=0.9,
        min_soc=0.1,
        dt_s=3600.0,
    )
    assert float(level) == pytest.approx(1_000.0)
    assert float(flow) == pytest.approx(-500.0)


def test_round_trip_returns_efficiency_times_input() -> None:
    params = BatteryParams(20_000.0, 10_000.0, 10_000.0, round_trip_efficiency=0.81, min_soc=0.0)
    level, charged = battery_params_step(0.0, 1_000.0, params, dt_s=3600.0)
    level, delivered = battery_params_step(level, -10_000.0, params, dt_s=3600.0)
    assert float(level) == pytest.approx(0.0, abs=1e-9)
    assert -float(delivered) == pytest.approx(0.81 * float(charged))


def test_zero_capacity_and_zero_dt_give_no_nan() -> None:
    level, flow = battery_step(
        [0.0, 5.0, 100.0],
        [1_000.0, -1_000.0, 1_000.0],
        capacity_wh=[0.0, 0.0, 200.0],
        max_charge_w=1_000.0,
        max_discharge_w=1_000.0,
        round_trip_efficiency=0.9,
        min_soc=0.2,
        dt_s=[60.0, 60.0, 0.0],
    )
    assert np.all(np.isfinite(level))
    assert np.all(np.isfinite(flow))
    np.testing.assert_array_equal(level, [0.0, 0.0, 100.0])
    np.testing.assert_array_equal(flow[:2], [0.0, 0.0])


def test_scalar_and_array_forms_agree() -> None:
    rng = np.random.default_rng(2)
    n = 50
    kwargs = {
        "capacity_wh": rng.uniform(0, 20_000, n),
        "max_charge_w": rng.uniform(0, 5_000, n),
        "max_discharge_w": rng.uniform(0, 5_000, n),
        "round_trip_efficiency": rng.uniform(0.5, 1.0, n),
        "min_soc": rng.uniform(0, 0.5, n),
    }
    level = kwargs["capacity_wh"] * rng.uniform(0, 1, n)
    request = rng.uniform(-8_000, 8_000, n)
    many_level, many_flow = battery_step(level, request, dt_s=300.0, **kwargs)
    for i in range(n):
        one_level, one_flow = battery_step(
            float(level[i]),
            float(request[i]),
            dt_s=300.0,
            **{key: float(value[i]) for key, value in kwargs.items()},
        )
        assert float(one_level) == pytest.approx(many_level[i], rel=1e-15, abs=1e-12)
        assert float(one_flow) == pytest.approx(many_flow[i], rel=1e-15, abs=1e-12)
