"""Outdoor temperature model and thermostat loads."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from simulators.physics import thermal


def test_model_is_plausible_for_known_climates() -> None:
    # Berlin (52.5 N, 13.4 E): mid-July afternoons ~25 C, mid-January nights ~-4 C.
    july = thermal.outdoor_temperature_model_c(52.5, 13.4, datetime(2026, 7, 19, 14, tzinfo=UTC))
    january = thermal.outdoor_temperature_model_c(52.5, 13.4, datetime(2026, 1, 15, 4, tzinfo=UTC))
    assert 20.0 < float(july) < 28.0
    assert -8.0 < float(january) < 2.0
    # Seasons are reversed in Sydney; the equator barely has seasons.
    sydney_january = thermal.outdoor_temperature_model_c(
        -33.9, 151.2, datetime(2026, 1, 15, 4, tzinfo=UTC)
    )
    assert float(sydney_january) > 25.0
    equator = thermal.outdoor_temperature_model_c(
        0.0, 0.0, [datetime(2026, 1, 15, 15, tzinfo=UTC), datetime(2026, 7, 15, 15, tzinfo=UTC)]
    )
    assert abs(equator[0] - equator[1]) < 0.1


def test_daily_maximum_is_mid_afternoon_local_solar_time() -> None:
    hours = np.array([f"2026-04-10T{hour:02d}:00" for hour in range(24)], dtype="datetime64[s]")
    # Longitude 90 E: local mean solar time = UTC + 6 h, so 15:00 solar is 09:00 UTC.
    temperature = thermal.outdoor_temperature_model_c(30.0, 90.0, hours)
    assert int(np.argmax(temperature)) == 9


def test_weather_temperature_wins_where_given() -> None:
    at = datetime(2026, 1, 15, 12, tzinfo=UTC)
    modelled = thermal.outdoor_temperature_model_c([10.0, 20.0], 0.0, at)
    mixed = thermal.outdoor_temperature_c(
        [10.0, 20.0], 0.0, at, weather_temperature_c=[np.nan, 3.5]
    )
    assert mixed[0] == modelled[0]
    assert mixed[1] == 3.5


def test_heater_and_air_conditioner_duty_cycles() -> None:
    outdoor = np.array([-10.0, 1.0, 11.0, 21.0, 27.0, 36.0, 45.0])
    heater = thermal.heater_power_w(outdoor, rated_power_w=2_000.0, setpoint_c=21.0)
    cooler = thermal.air_conditioner_power_w(outdoor, rated_power_w=1_200.0, setpoint_c=24.0)
    np.testing.assert_allclose(heater, [2_000.0, 2_000.0, 1_000.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(cooler, [0.0, 0.0, 0.0, 0.0, 300.0, 1_200.0, 1_200.0])
    off = thermal.heater_power_w(-10.0, rated_power_w=2_000.0, setpoint_c=21.0, enabled=False)
    assert float(off) == 0.0


def test_zero_design_difference_is_a_bang_bang_thermostat() -> None:
    duty = thermal.heating_duty([20.0, 21.0, 22.0], setpoint_c=21.0, design_delta_c=0.0)
    np.testing.assert_array_equal(duty, [1.0, 0.0, 0.0])


def test_scalar_and_array_forms_agree() -> None:
    latitude = np.linspace(-60.0, 60.0, 13)
    at = datetime(2026, 10, 25, 9, 30, tzinfo=UTC)
    many = thermal.outdoor_temperature_model_c(latitude, 7.0, at)
    for i, value in enumerate(latitude):
        one = thermal.outdoor_temperature_model_c(float(value), 7.0, at)
        assert float(one) == pytest.approx(many[i], abs=1e-12)
