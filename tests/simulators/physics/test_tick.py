"""The population tick: invariants, per-home sums, scalar/vector agreement, determinism,
and the Django/Celery/Redis-free import contract of ``simulators``."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bench.physics import build_population
from simulators.physics.ev import EV_MODE_CHARGING, EV_MODE_DISCHARGING, EV_MODE_OFFLINE
from simulators.physics.tick import Population, StorageLevels, TickResult, population_tick

REPO_ROOT = Path(__file__).resolve().parents[3]
TICK_AT = datetime(2026, 6, 22, 17, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> tuple[Population, StorageLevels, TickResult]:
    population, levels = build_population(2_000, 10_000, seed=11)
    result = population_tick(population, levels, tick_at=TICK_AT, dt_s=60.0, seed=3)
    return population, levels, result


def test_net_grid_flow_follows_the_sign_convention(
    world: tuple[Population, StorageLevels, TickResult],
) -> None:
    _, _, result = world
    totals = result.homes
    np.testing.assert_array_equal(
        totals.net_grid_flow_w,
        totals.consumption_w + totals.storage_flow_w - totals.production_w,
    )
    assert np.all((totals.self_sufficiency >= 0.0) & (totals.self_sufficiency <= 1.0))
    assert np.all(np.isfinite(totals.net_grid_flow_w))


def test_home_totals_are_sums_of_their_devices(
    world: tuple[Population, StorageLevels, TickResult],
) -> None:
    population, _, result = world
    count = population.homes.count

    def per_home(values: np.ndarray, index: np.ndarray) -> np.ndarray:
        return np.bincount(index, weights=values, minlength=count)

    production = per_home(result.solar_power_w, population.solar.home_index) + per_home(
        result.generator_power_w, population.generators.home_index
    )
    consumption = (
        result.homes.base_load_w
        + per_home(result.heater_power_w, population.heaters.home_index)
        + per_home(result.air_conditioner_power_w, population.air_conditioners.home_index)
    )
    storage = per_home(result.batteries.flow_w, population.batteries.home_index) + per_home(
        result.vehicles.flow_w, population.vehicles.home_index
    )
    np.testing.assert_allclose(result.homes.production_w, production, rtol=1e-12)
    np.testing.assert_allclose(result.homes.consumption_w, consumption, rtol=1e-12)
    np.testing.assert_allclose(result.homes.storage_flow_w, storage, rtol=1e-12, atol=1e-9)


def test_batteries_only_absorb_surplus_and_cover_deficit(
    world: tuple[Population, StorageLevels, TickResult],
) -> None:
    population, levels, result = world
    count = population.homes.count
    batteries = population.batteries
    flow = result.batteries.flow_w
    vehicle_flow = result.vehicles.flow_w
    vehicle_charging = np.bincount(
        population.vehicles.home_index, weights=np.maximum(vehicle_flow, 0.0), minlength=count
    )
    surplus = result.homes.production_w - result.homes.consumption_w - vehicle_charging
    charge = np.bincount(batteries.home_index, weights=np.maximum(flow, 0.0), minlength=count)
    discharge = np.bincount(
        batteries.home_index, weights=np.maximum(-flow, 0.0), minlength=count
    ) + np.bincount(
        population.vehicles.home_index, weights=np.maximum(-vehicle_flow, 0.0), minlength=count
    )
    assert np.all(charge <= np.maximum(surplus, 0.0) + 1e-6)
    assert np.all(discharge <= np.maximum(-surplus, 0.0) + 1e-6)
    # So a home with storage never exports while its batteries could still charge, etc.
    assert np.all((charge == 0.0) | (discharge == 0.0))
    # Levels stay in bounds and energy is conserved (losses on charge).
    capacity = batteries.capacity_wh
    new_level = result.batteries.level_wh
    assert np.all((new_level >= 0.0) & (new_level <= capacity))
    start = np.clip(levels.battery_level_wh, 0.0, capacity)
    expected = start + (0.9 * np.maximum(flow, 0.0) + np.minimum(flow, 0.0)) * 60.0 / 3600.0
    np.testing.assert_allclose(new_level, expected, rtol=1e-12, atol=1e-9)
    assert np.all(np.abs(flow) <= 5_000.0)


def test_vehicle_modes_and_flows_agree(
    world: tuple[Population, StorageLevels, TickResult],
) -> None:
    _, _, result = world
    vehicles = result.vehicles
    assert np.all(vehicles.flow_w[vehicles.mode == EV_MODE_OFFLINE] == 0.0)
    assert np.all(vehicles.flow_w[vehicles.mode == EV_MODE_CHARGING] > 0.0)
    assert np.all(vehicles.flow_w[vehicles.mode == EV_MODE_DISCHARGING] <= 0.0)
    assert np.array_equal(vehicles.away, vehicles.mode == EV_MODE_OFFLINE)
    # 17:00 UTC on a Monday: Europe is home from work, the Americas are away.
    assert 0 < vehicles.away.sum() < vehicles.away.size


def _one_home(
    population: Population, levels: StorageLevels, home: int
) -> tuple[Population, StorageLevels]:
    homes = population.homes
    single_home = replace(
        homes,
        latitude_deg=homes.latitude_deg[home : home + 1],
        longitude_deg=homes.longitude_deg[home : home + 1],
        timezone_index=homes.timezone_index[home : home + 1],
        base_load_w=homes.base_load_w[home : home + 1],
    )

    def pick(kind: object) -> object:
        mask = kind.home_index == home  # type: ignore[attr-defined]
        values = {}
        for item in fields(kind):  # type: ignore[arg-type]
            value = getattr(kind, item.name)
            values[item.name] = value[mask] if isinstance(value, np.ndarray) else value
        values["home_index"] = np.zeros(int(mask.sum()), dtype=np.int64)
        return type(kind)(**values)

    population_1 = Population(
        homes=single_home,
        solar=pick(population.solar),  # type: ignore[arg-type]
        generators=pick(population.generators),  # type: ignore[arg-type]
        batteries=pick(population.batteries),  # type: ignore[arg-type]
        vehicles=pick(population.vehicles),  # type: ignore[arg-type]
        heaters=pick(population.heaters),  # type: ignore[arg-type]
        air_conditioners=pick(population.air_conditioners),  # type: ignore[arg-type]
    )
    levels_1 = StorageLevels(
        battery_level_wh=levels.battery_level_wh[population.batteries.home_index == home],
        ev_level_wh=levels.ev_level_wh[population.vehicles.home_index == home],
    )
    return population_1, levels_1


def test_one_home_alone_gives_the_same_as_within_the_population(
    world: tuple[Population, StorageLevels, TickResult],
) -> None:
    population, levels, result = world
    counts = np.bincount(population.vehicles.home_index, minlength=population.homes.count)
    homes_to_check = [0, 17, int(np.argmax(counts)), population.homes.count - 1]
    for home in homes_to_check:
        population_1, levels_1 = _one_home(population, levels, home)
        alone = population_tick(population_1, levels_1, tick_at=TICK_AT, dt_s=60.0, seed=3)
        for name in ("production_w", "consumption_w", "storage_flow_w", "net_grid_flow_w"):
            np.testing.assert_allclose(
                getattr(alone.homes, name)[0],
                getattr(result.homes, name)[home],
                rtol=1e-12,
                atol=1e-9,
            )
        in_home = population.solar.home_index == home
        np.testing.assert_allclose(alone.solar_power_w, result.solar_power_w[in_home], rtol=1e-12)
        in_home = population.vehicles.home_index == home
        np.testing.assert_allclose(
            alone.vehicles.level_wh, result.vehicles.level_wh[in_home], rtol=1e-12
        )


def test_solar_is_zero_where_the_sun_is_down() -> None:
    population, levels = build_population(500, 2_500, seed=5)
    result = population_tick(population, levels, tick_at=TICK_AT, dt_s=60.0, seed=1)
    from simulators.physics.tick import home_solar_geometry

    _, elevation, *_ = home_solar_geometry(population.homes, TICK_AT)
    night = elevation[population.solar.home_index] <= 0.0
    assert night.any()
    assert (~night).any()
    assert np.all(result.solar_power_w[night] == 0.0)
    assert np.all(result.solar_power_w[~night] >= 0.0)
    assert result.solar_power_w[~night].max() > 0.0


HASH_SNIPPET = """
import hashlib
from datetime import UTC, datetime, timedelta
import numpy as np
from bench.physics import build_population
from simulators.physics.tick import StorageLevels, population_tick

population, levels = build_population(1_000, 5_000, seed=2)
digest = hashlib.sha256()
tick = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
ev_mode = None
for step in range(12):
    tick = tick + timedelta(hours=2)
    result = population_tick(population, levels, tick_at=tick, dt_s=7200.0, seed=42)
    for array in (
        result.solar_power_w, result.generator_power_w, result.heater_power_w,
        result.air_conditioner_power_w, result.batteries.level_wh, result.batteries.flow_w,
        result.vehicles.level_wh, result.vehicles.flow_w, result.vehicles.mode,
        result.homes.net_grid_flow_w, result.homes.self_sufficiency,
    ):
        digest.update(np.ascontiguousarray(array).tobytes())
    levels = StorageLevels(
        battery_level_wh=result.batteries.level_wh,
        ev_level_wh=result.vehicles.level_wh,
        ev_mode=result.vehicles.mode,
    )
print(digest.hexdigest())
"""


def _run_python(code: str) -> str:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [environment.get("PYTHONPATH")])]
    )
    environment["PYTHONHASHSEED"] = "random"
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return completed.stdout.strip()


def test_outputs_are_bit_identical_across_processes() -> None:
    first = _run_python(HASH_SNIPPET)
    second = _run_python(HASH_SNIPPET)
    assert len(first) == 64
    assert first == second


IMPORT_SNIPPET = """
import importlib, pkgutil, sys
import simulators.physics
names = [m.name for m in pkgutil.walk_packages(simulators.physics.__path__, "simulators.physics.")]
for name in names:
    importlib.import_module(name)
forbidden = sorted(
    m for m in sys.modules
    if m.split(".")[0] in {"django", "celery", "redis", "kombu", "rest_framework", "strawberry"}
)
print(len(names), ",".join(forbidden))
"""


def test_simulators_import_no_django_celery_or_redis() -> None:
    count, _, forbidden = _run_python(IMPORT_SNIPPET).partition(" ")
    assert int(count) >= 8
    assert forbidden == ""


def test_measured_load_adds_to_consumption_as_it_is() -> None:
    from simulators.physics.tick import population_tick

    population, levels = build_population(200, 1_000, seed=3)
    at = datetime(2026, 6, 21, 20, 0, tzinfo=UTC)
    plain = population_tick(population, levels, tick_at=at, dt_s=60.0, seed=1)
    measured = np.linspace(0.0, 2000.0, population.homes.count)
    homes = replace(population.homes, measured_load_w=measured)
    metered = population_tick(
        replace(population, homes=homes), levels, tick_at=at, dt_s=60.0, seed=1
    )
    np.testing.assert_allclose(
        metered.homes.consumption_w - plain.homes.consumption_w, measured, atol=1e-9
    )
    np.testing.assert_allclose(metered.homes.base_load_w, plain.homes.base_load_w)
