"""A plan's setpoints in the physics: devices with one take it within their limits, the rest
follow their rules (``simulators.physics.tick.Dispatch``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from simulators.physics.ev import (
    ALL_DAYS_MASK,
    EV_MODE_CHARGING,
    EV_MODE_DISCHARGING,
    EV_MODE_IDLE,
    EV_MODE_OFFLINE,
)
from simulators.physics.tick import (
    Batteries,
    Dispatch,
    ElectricVehicles,
    Generators,
    Homes,
    Population,
    StorageLevels,
    Thermostats,
    population_tick,
)

NIGHT = datetime(2026, 1, 14, 2, 0, tzinfo=UTC)  # no sun in London
DT_S = 60.0


def _home() -> Homes:
    return Homes(
        latitude_deg=np.array([51.5]),
        longitude_deg=np.array([-0.1]),
        timezone_index=np.array([0]),
        base_load_w=np.array([400.0]),
        timezones=("Europe/London",),
    )


def _batteries(count: int) -> Batteries:
    return Batteries(
        device_id=np.arange(1, count + 1),
        home_index=np.zeros(count, dtype=np.int64),
        capacity_wh=np.full(count, 10_000.0),
        max_charge_w=np.full(count, 5_000.0),
        max_discharge_w=np.full(count, 5_000.0),
        round_trip_efficiency=np.full(count, 0.9),
        min_soc=np.full(count, 0.1),
    )


def _car(*, away_all_day: bool = False, v2h_w: float = 7_000.0) -> ElectricVehicles:
    return ElectricVehicles(
        device_id=np.array([50]),
        home_index=np.array([0]),
        battery_capacity_wh=np.array([60_000.0]),
        max_charge_w=np.array([7_000.0]),
        max_discharge_w=np.array([v2h_w]),
        charge_efficiency=np.array([0.9]),
        target_soc=np.array([0.9]),
        reserve_soc=np.array([0.2]),
        driving_wh_per_hour=np.array([6_000.0]),
        days_mask=np.array([ALL_DAYS_MASK if away_all_day else 0]),
        departure_s=np.array([0.0]),
        arrival_s=np.array([86_399.0]),
        requested_mode=np.array([EV_MODE_IDLE], dtype=np.int8),
    )


def _none(count: int) -> np.ndarray:
    return np.full(count, np.nan)


def _dispatch(population: Population, **given: np.ndarray) -> Dispatch:
    return replace(Dispatch.follow_rules(population), **given)


def _tick(population: Population, levels: StorageLevels, dispatch: Dispatch | None):
    return population_tick(population, levels, tick_at=NIGHT, dt_s=DT_S, seed=7, dispatch=dispatch)


def test_no_setpoints_is_the_rule_bit_for_bit() -> None:
    population = Population(homes=_home(), batteries=_batteries(2), vehicles=_car())
    levels = StorageLevels(np.array([5_000.0, 3_000.0]), np.array([30_000.0]))
    ruled = _tick(population, levels, None)
    followed = _tick(population, levels, Dispatch.follow_rules(population))
    assert followed.batteries.flow_w.tolist() == ruled.batteries.flow_w.tolist()
    assert followed.vehicles.flow_w.tolist() == ruled.vehicles.flow_w.tolist()
    assert followed.homes.net_grid_flow_w.tolist() == ruled.homes.net_grid_flow_w.tolist()


def test_a_planned_battery_charges_from_the_grid_at_night() -> None:
    population = Population(homes=_home(), batteries=_batteries(1))
    levels = StorageLevels(np.array([2_000.0]), np.empty(0))
    ruled = _tick(population, levels, None)
    # The rule covers the night's load from the battery; the plan charges it instead.
    assert ruled.batteries.flow_w[0] < 0.0
    result = _tick(population, levels, _dispatch(population, battery_w=np.array([3_000.0])))
    assert result.batteries.flow_w[0] == pytest.approx(3_000.0)
    load = result.homes.consumption_w[0]
    assert result.homes.net_grid_flow_w[0] == pytest.approx(load + 3_000.0)
    assert result.batteries.level_wh[0] == pytest.approx(2_000.0 + 0.9 * 3_000.0 * DT_S / 3600)


def test_a_planned_discharge_stops_at_the_floor() -> None:
    population = Population(homes=_home(), batteries=_batteries(1))
    floor = 1_000.0  # min_soc 0.1 of 10 kWh
    levels = StorageLevels(np.array([floor + 20.0]), np.empty(0))
    result = _tick(population, levels, _dispatch(population, battery_w=np.array([-5_000.0])))
    assert result.batteries.level_wh[0] == pytest.approx(floor)
    assert result.batteries.flow_w[0] == pytest.approx(-20.0 * 3600 / DT_S)


def test_stores_without_a_setpoint_share_what_the_planned_one_leaves() -> None:
    population = Population(homes=_home(), batteries=_batteries(2))
    levels = StorageLevels(np.array([5_000.0, 5_000.0]), np.empty(0))
    # The planned battery gives 1.5 kW; the home's load is below that, so the other charges
    # with the rest (self-consumption) and nothing is imported or exported.
    result = _tick(
        population, levels, _dispatch(population, battery_w=np.array([-1_500.0, np.nan]))
    )
    load = result.homes.consumption_w[0]
    assert load < 1_500.0
    assert result.batteries.flow_w[0] == pytest.approx(-1_500.0)
    assert result.batteries.flow_w[1] == pytest.approx(1_500.0 - load)
    assert result.homes.net_grid_flow_w[0] == pytest.approx(0.0, abs=1e-6)


def test_a_car_at_home_charges_and_discharges_as_planned() -> None:
    population = Population(homes=_home(), vehicles=_car())
    levels = StorageLevels(np.empty(0), np.array([30_000.0]), np.array([EV_MODE_IDLE], np.int8))
    charged = _tick(population, levels, _dispatch(population, vehicle_w=np.array([4_000.0])))
    assert charged.vehicles.mode[0] == EV_MODE_CHARGING
    assert charged.vehicles.flow_w[0] == pytest.approx(4_000.0)
    given = _tick(population, levels, _dispatch(population, vehicle_w=np.array([-2_000.0])))
    assert given.vehicles.mode[0] == EV_MODE_DISCHARGING
    assert given.vehicles.flow_w[0] == pytest.approx(-2_000.0)
    load = given.homes.consumption_w[0]
    assert given.homes.net_grid_flow_w[0] == pytest.approx(max(load - 2_000.0, 0.0) - max(
        2_000.0 - load, 0.0))  # fmt: skip


def test_a_car_without_v2h_never_discharges() -> None:
    population = Population(homes=_home(), vehicles=_car(v2h_w=0.0))
    levels = StorageLevels(np.empty(0), np.array([30_000.0]), np.array([EV_MODE_IDLE], np.int8))
    result = _tick(population, levels, _dispatch(population, vehicle_w=np.array([-2_000.0])))
    assert result.vehicles.flow_w[0] == 0.0
    assert result.vehicles.mode[0] == EV_MODE_IDLE


def test_a_car_away_ignores_its_setpoint() -> None:
    population = Population(homes=_home(), vehicles=_car(away_all_day=True))
    levels = StorageLevels(np.empty(0), np.array([30_000.0]), np.array([EV_MODE_OFFLINE], np.int8))
    result = _tick(population, levels, _dispatch(population, vehicle_w=np.array([4_000.0])))
    assert result.vehicles.mode[0] == EV_MODE_OFFLINE
    assert result.vehicles.flow_w[0] == 0.0


def _thermostats(enabled: bool) -> Thermostats:
    return Thermostats(
        device_id=np.array([70]),
        home_index=np.array([0]),
        rated_power_w=np.array([2_000.0]),
        setpoint_c=np.array([20.0]),
        enabled=np.array([enabled]),
    )


@pytest.mark.parametrize(("setpoint", "expected"), [(1_200.0, 1_200.0), (9_000.0, 2_000.0),
                                                    (-5.0, 0.0)])  # fmt: skip
def test_appliances_take_their_setpoint_within_their_rating(
    setpoint: float, expected: float
) -> None:
    population = Population(
        homes=_home(), heaters=_thermostats(True), air_conditioners=_thermostats(True)
    )
    levels = StorageLevels(np.empty(0), np.empty(0))
    result = _tick(
        population,
        levels,
        _dispatch(
            population, heater_w=np.array([setpoint]), air_conditioner_w=np.array([setpoint])
        ),
    )
    assert result.heater_power_w[0] == pytest.approx(expected)
    assert result.air_conditioner_power_w[0] == pytest.approx(expected)


def test_a_switched_off_heater_stays_off() -> None:
    population = Population(homes=_home(), heaters=_thermostats(False))
    levels = StorageLevels(np.empty(0), np.empty(0))
    result = _tick(population, levels, _dispatch(population, heater_w=np.array([1_000.0])))
    assert result.heater_power_w[0] == 0.0


def test_generators_run_and_stop_as_planned() -> None:
    generators = Generators(
        device_id=np.array([80, 81]),
        home_index=np.array([0, 0]),
        rated_power_w=np.array([3_000.0, 3_000.0]),
        running=np.array([False, True]),
    )
    population = Population(homes=_home(), generators=generators)
    levels = StorageLevels(np.empty(0), np.empty(0))
    result = _tick(population, levels, _dispatch(population, generator_on=np.array([1.0, 0.0])))
    assert result.generator_power_w[0] > 0.0
    assert result.generator_power_w[1] == 0.0
