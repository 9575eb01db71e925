"""Forecasts: solar from the physics and the cloud forecast, base load from history, the
car's schedule across daylight-saving changes, heating demand, and the MAE."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from planner.forecast import (
    base_load_forecast_w,
    interval_midpoints,
    mean_absolute_error,
    pv_forecast_w,
    thermal_demand_w,
    vehicle_forecast,
)
from planner.optimize import optimize
from planner.outcome import STATUS_OPTIMAL
from planner.problem import heat_loss_from_rating_w_per_k, thermal_gains
from planner.synthetic import sample_fleet
from simulators.physics.ev import EvParams
from simulators.physics.home import base_load_w
from simulators.physics.solar import SolarPanelParams, solar_panel_power_w

BERLIN = ("Europe/Berlin",)


def _panels(count: int) -> SolarPanelParams:
    return SolarPanelParams(
        panel_area_m2=np.full(count, 10.0),
        efficiency=np.full(count, 0.2),
        rated_power_w=np.full(count, 5000.0),
        tilt_deg=np.full(count, 30.0),
        azimuth_deg=np.full(count, 180.0),
    )


def test_pv_forecast_is_the_physics_at_interval_midpoints_summed_per_home() -> None:
    """Two panels in home 0, one in home 1; clear sky. Each home's forecast is the sum of
    ``solar_panel_power_w`` at 00:07:30, 00:22:30, … UTC; nothing at night in Berlin."""
    start = datetime(2026, 6, 21, tzinfo=UTC)
    forecast = pv_forecast_w(
        latitude_deg=[52.5, 52.5, 52.5], longitude_deg=[13.4, 13.4, 13.4], panel=_panels(3),
        home_index=[0, 0, 1], homes=2, starts_at=start, intervals=96, cloud_cover=0.0,
    )  # fmt: skip

    one = np.ravel(solar_panel_power_w(52.5, 13.4, interval_midpoints(start, 96), _panels(1)))
    np.testing.assert_allclose(forecast[0], 2 * one)
    np.testing.assert_allclose(forecast[1], one)
    assert forecast[:, 0].tolist() == [0.0, 0.0]  # 00:07 UTC: night
    assert forecast[0].max() > 1000.0  # a June noon


def test_overcast_forecast_is_a_quarter_of_the_clear_sky() -> None:
    """Kasten & Czeplak: full cover leaves 25 % of the global irradiance (below the
    inverter's clip, the panel's power scales with it)."""
    start = datetime(2026, 3, 1, 6, tzinfo=UTC)
    args = dict(latitude_deg=[52.5], longitude_deg=[13.4], panel=_panels(1), home_index=[0],
                homes=1, starts_at=start, intervals=16)  # fmt: skip

    clear = pv_forecast_w(**args, cloud_cover=0.0)  # type: ignore[arg-type]
    overcast = pv_forecast_w(**args, cloud_cover=1.0)  # type: ignore[arg-type]

    assert clear.sum() > 0.0
    np.testing.assert_allclose(overcast, 0.25 * clear, rtol=1e-9, atol=1e-9)


def test_base_load_is_the_mean_of_the_same_time_in_past_weeks() -> None:
    """Weeks 100, 300 and unknown at interval 0 → 200; one known week (50) → 50."""
    history = np.array([[[100.0, np.nan], [300.0, 50.0], [np.nan, np.nan]]])  # (1, 3, 2)

    forecast = base_load_forecast_w(
        history, mean_base_load_w=[400.0], local_seconds_of_day=[[0.0, 900.0]]
    )

    np.testing.assert_allclose(forecast, [[200.0, 50.0]])


def test_base_load_cold_start_is_the_synthetic_profile() -> None:
    seconds = np.array([[3600.0 * 3.5, 3600.0 * 19.25]])
    history = np.full((1, 4, 2), np.nan)

    forecast = base_load_forecast_w(history, mean_base_load_w=[500.0], local_seconds_of_day=seconds)

    np.testing.assert_allclose(forecast, base_load_w(500.0, seconds))
    assert forecast[0, 1] > forecast[0, 0]  # the evening peak over the small hours


def _commuter(**fields: object) -> EvParams:
    values: dict[str, object] = dict(
        battery_capacity_wh=[60000.0], max_charge_w=[7400.0], max_discharge_w=[5000.0],
        target_soc=[0.8], driving_wh_per_hour=[600.0], days_mask=[0b1111111],
        departure_s=[7 * 3600.0], arrival_s=[18 * 3600.0],
    ) | fields  # fmt: skip
    return EvParams(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "departure_utc_hour"),
    [
        (datetime(2026, 3, 28, tzinfo=UTC), 6),  # CET: 07:00 local is 06:00 UTC
        (datetime(2026, 3, 29, tzinfo=UTC), 5),  # clocks spring forward at 01:00 UTC
        (datetime(2026, 10, 25, tzinfo=UTC), 6),  # back to CET that morning
    ],
)
def test_departure_targets_follow_local_time_across_dst(
    day: datetime, departure_utc_hour: int
) -> None:
    """The car leaves at 07:00 Berlin time every day; the target sits on the last
    15-minute interval before that instant in UTC, whatever the offset that day, and the
    car is away (driving 150 Wh per interval) from then until 18:00 local."""
    forecast = vehicle_forecast(day, 96, timezones=BERLIN, zone_index=[0], params=_commuter())

    last_home = departure_utc_hour * 4 - 1
    assert np.flatnonzero(np.isfinite(forecast.target_soc[0])).tolist() == [last_home]
    assert forecast.target_soc[0, last_home] == pytest.approx(0.8)
    assert forecast.home[0, last_home] and not forecast.home[0, last_home + 1]
    away = ~forecast.home[0]
    assert away.sum() == 11 * 4  # 07:00-18:00 local, 11 h on each of these days
    np.testing.assert_allclose(forecast.driving_wh[0][away], 150.0)
    assert (forecast.driving_wh[0][~away] == 0.0).all()


def test_a_car_without_trips_that_day_stays_home() -> None:
    """Weekdays only; 2026-12-05 is a Saturday: no departure, no driving."""
    forecast = vehicle_forecast(
        datetime(2026, 12, 4, 23, tzinfo=UTC), 96, timezones=BERLIN, zone_index=[0],
        params=_commuter(days_mask=[0b0011111]),
    )  # fmt: skip

    assert forecast.home.all()
    assert np.isnan(forecast.target_soc).all()


def test_heating_demand_holds_the_setpoint_in_the_planners_building_model() -> None:
    """The forecast heater power, fed to the first-order model whose UA the same rating
    implies, keeps a house at its setpoint exactly: the two models agree in steady state."""
    outdoor = np.array([[-5.0, 0.0, 5.0, 10.0, 25.0]])
    heating, cooling = thermal_demand_w(
        outdoor, heater_rated_w=[3000.0], heating_setpoint_c=[20.0], ac_rated_w=[0.0],
        cooling_setpoint_c=[25.0],
    )  # fmt: skip
    ua = heat_loss_from_rating_w_per_k(3000.0, design_delta_c=20.0)
    a, b_h, _ = thermal_gains(heat_loss_w_per_k=ua, heating_cop=1.0, cooling_cop=1.0)

    following = a * 20.0 + (1.0 - a) * outdoor + b_h * heating

    # -5 °C is 25 K below: beyond the 20 K the rating holds, so the house cools there.
    np.testing.assert_allclose(following[0, 1:4], 20.0)
    assert following[0, 0] < 20.0
    assert heating[0, 4] == 0.0
    assert (cooling == 0.0).all()


def test_mean_absolute_error_skips_unknown_intervals() -> None:
    forecast = np.array([[1.0, 2.0, 3.0], [1.0, np.nan, np.nan]])
    actual = np.array([[2.0, 2.0, 6.0], [np.nan, 5.0, np.nan]])

    error = mean_absolute_error(forecast, actual)

    assert error[0] == pytest.approx(4.0 / 3.0)
    assert np.isnan(error[1])


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        interval_midpoints(datetime(2026, 1, 1), 4)


def test_a_plan_on_the_spring_forward_day_meets_the_departure_target() -> None:
    """The car leaves at 07:00 Berlin time on 29 March 2026, 05:00 UTC that day. With the
    cheapest power while it is away, the plan still fills it to 80 % by the end of the
    interval before 05:00 UTC, and never charges it while away."""
    day = datetime(2026, 3, 29, tzinfo=UTC)
    forecast = vehicle_forecast(day, 96, timezones=BERLIN, zone_index=[0], params=_commuter())
    base = sample_fleet(1, seed=31, battery=False, heater=False)
    cheap_while_away = np.where(forecast.home, 0.40, 0.05)
    fleet = replace(
        base,
        signals=replace(base.signals, import_price_per_kwh=cheap_while_away),
        vehicles=replace(
            base.vehicles,
            capacity_wh=np.array([60000.0]),
            initial_soc=np.array([0.3]),
            home=forecast.home,
            driving_wh=forecast.driving_wh,
            target_soc=forecast.target_soc,
        ),
    )

    plan = optimize(fleet)

    assert plan.status[0] == STATUS_OPTIMAL
    last_home = 5 * 4 - 1
    assert plan.setpoints.vehicle_wh[0, last_home] >= 0.8 * 60000.0 - 1e-6
    assert (plan.setpoints.vehicle_charge_w[0][~forecast.home[0]] <= 1e-9).all()
