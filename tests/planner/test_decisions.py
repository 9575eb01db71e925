"""Actions and expected effects of plan setpoints (pure)."""

import numpy as np
import pytest

from planner.decisions import action_names, expected_effect


def test_storage_actions_follow_the_sign() -> None:
    names = action_names("battery", [2000.0, -1500.0, 0.2, np.nan])
    assert names.tolist() == ["charge", "discharge", "idle", "idle"]


@pytest.mark.parametrize(
    ("kind", "on", "off"),
    [("heater", "heat", "off"), ("air_conditioner", "cool", "off"), ("generator", "run", "stop")],
)
def test_appliance_actions(kind: str, on: str, off: str) -> None:
    assert action_names(kind, [1200.0, 0.0]).tolist() == [on, off]


def test_no_setpoints_for_panels() -> None:
    with pytest.raises(ValueError, match="solar_panel"):
        action_names("solar_panel", [1.0])


def test_charging_costs_the_interval_price_and_discharging_saves_it() -> None:
    # 4 kW for 15 min is 1 kWh: at 0.10 and 200 g/kWh it costs 0.10 and 200 g.
    cost, carbon = expected_effect(
        "battery",
        [4000.0, -4000.0],
        import_price_per_kwh=[0.10, 0.40],
        carbon_g_per_kwh=[200.0, 350.0],
        interval_s=900.0,
    )
    assert cost.tolist() == pytest.approx([0.10, -0.40])
    assert carbon.tolist() == pytest.approx([200.0, -350.0])


def test_a_generator_supplies_what_it_outputs() -> None:
    cost, carbon = expected_effect(
        "generator", [2000.0], import_price_per_kwh=[0.30], carbon_g_per_kwh=[400.0],
        interval_s=1800.0,
    )  # fmt: skip
    assert cost.tolist() == pytest.approx([-0.30])
    assert carbon.tolist() == pytest.approx([-400.0])
