"""Fleets joined into one: every array of every home kept in order, mismatches refused."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np
import pytest

from planner.greedy import greedy
from planner.problem import Fleet, Objective, fleet_concat
from planner.synthetic import sample_fleet
from tests.planner.fleets import tiny_fleet


def _arrays(fleet: Fleet) -> dict[str, np.ndarray]:
    out = {
        "grid_import_max_w": fleet.grid_import_max_w,
        "grid_export_max_w": fleet.grid_export_max_w,
    }
    for group in ("signals", "forecasts", "batteries", "vehicles", "thermal", "generators"):
        value = getattr(fleet, group)
        for item in fields(value):
            out[f"{group}.{item.name}"] = np.asarray(getattr(value, item.name))
    return out


def test_the_parts_of_a_fleet_join_back_into_it() -> None:
    fleet = sample_fleet(5, seed=3)
    joined = fleet_concat([fleet.select(0, 2), fleet.select(2, 3), fleet.select(3, 5)])
    assert joined.homes == 5 and joined.intervals == fleet.intervals
    original = _arrays(fleet)
    for name, value in _arrays(joined).items():
        np.testing.assert_array_equal(value, original[name], err_msg=name)
    joined.validate()


def test_a_joined_fleet_plans_each_home_as_it_would_alone() -> None:
    fleet = sample_fleet(3, seed=4)
    parts = [fleet.select(k, k + 1) for k in range(3)]
    together = greedy(fleet_concat(parts))
    for k, part in enumerate(parts):
        alone = greedy(part)
        np.testing.assert_allclose(together.setpoints.battery_w[k], alone.setpoints.battery_w[0])
        np.testing.assert_allclose(together.cost[k], alone.cost[0])


def test_a_home_without_a_charge_target_reads_full() -> None:
    with_target = tiny_fleet(import_price=[0.1, 0.2])
    with_target = replace(
        with_target, vehicles=replace(with_target.vehicles, charge_target_soc=np.array([0.8]))
    )
    without = tiny_fleet(import_price=[0.3, 0.4])
    without = replace(without, vehicles=replace(without.vehicles, charge_target_soc=np.ones(0)))
    joined = fleet_concat([with_target, without])
    np.testing.assert_array_equal(joined.vehicles.charge_target_soc, [0.8, 1.0])
    np.testing.assert_array_equal(joined.signals.import_price_per_kwh, [[0.1, 0.2], [0.3, 0.4]])


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"objective": Objective.CARBON}, "objective"),
        ({"dt_s": 1800.0}, "dt_s"),
        ({"hold_storage_levels": True}, "hold_storage_levels"),
    ],
)
def test_fleets_that_differ_in_their_settings_are_refused(
    change: dict[str, Any], name: str
) -> None:
    fleet = tiny_fleet(import_price=[0.1, 0.2])
    with pytest.raises(ValueError, match=name):
        fleet_concat([fleet, replace(fleet, **change)])


def test_fleets_of_different_horizons_and_no_fleets_are_refused() -> None:
    with pytest.raises(ValueError, match="intervals"):
        fleet_concat([tiny_fleet(import_price=[0.1]), tiny_fleet(import_price=[0.1, 0.2])])
    with pytest.raises(ValueError, match="no fleets"):
        fleet_concat([])
