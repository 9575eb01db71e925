"""A real Celery worker SIGKILLed at each phase of a shard: the shard is redelivered, every
storage level ends equal to an uninterrupted run's, and history is counted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from devices.live import keys, store
from devices.models import Battery, ElectricVehicle, HomeEnergyHistory
from simulators import farm
from simulators.farm.phases import PHASES
from simulators.tasks import tick_run
from tests.devices.factories import (
    BatteryFactory,
    ElectricVehicleFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.polling import wait_until
from tests.simulators.farm.stack import Stack
from tests.simulators.farm.worker import KILLED_KEY

T0 = datetime(2026, 6, 22, 19, 0, tzinfo=UTC)  # a Monday evening: batteries and EVs both move
TICKS = 3
HISTORY_FIELDS = (
    "home_id", "tick_at", "production_wh", "consumption_wh", "import_wh", "export_wh",
    "charge_wh", "discharge_wh",
)  # fmt: skip


def _population() -> tuple[list[Any], list[int]]:
    homes = [HomeFactory(latitude=51.5, longitude=-0.1, timezone="Europe/London") for _ in range(2)]
    stores: list[int] = []
    for home in homes:
        SolarPanelFactory(home=home)
        stores.append(BatteryFactory(home=home, level_wh=5000.0).pk)
        stores.append(ElectricVehicleFactory(home=home, mode="discharging").pk)
    return homes, stores


def _levels(stores: list[int]) -> list[float]:
    values = store.device_storages(stores)
    assert all(value is not None for value in values)
    return [value["level_wh"] for value in values if value is not None]


def _history() -> list[tuple[Any, ...]]:
    return list(
        HomeEnergyHistory.objects.order_by("home_id", "tick_at").values_list(*HISTORY_FIELDS)
    )


def _reference_run(
    homes: list[Any], stores: list[int]
) -> tuple[list[float], list[tuple[Any, ...]]]:
    """The same ticks from the same start, uninterrupted, in this process."""
    store.client().flushdb()
    HomeEnergyHistory.objects.all().delete()
    Battery.objects.update(level_wh=5000.0, level_at=None)
    ElectricVehicle.objects.update(level_wh=None, level_at=None)
    for tick in range(TICKS):
        plan = farm.tick_claim(tick_at=T0 + timedelta(seconds=tick * farm.tick_seconds()))
        assert isinstance(plan, farm.TickPlan)
        tick_at = plan.tick_at
        handles = [
            farm.shard_simulate(tick_at=tick_at, home_id_from=first, home_id_to=last)
            for first, last in plan.shards
        ]
        farm.tick_finalize(result_keys=handles, tick_at=tick_at, shards=plan.shards)
    return _levels(stores), _history()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("phase", PHASES)
def test_a_worker_killed_at_any_phase_changes_nothing(
    phase: str, stack: Stack, settings: Any, real_broker: None
) -> None:
    settings.SIM_SHARD_HOMES = 1  # one shard per home
    settings.SIM_CHECKPOINT_TICKS = 1  # every tick checkpoints: the last phase is reached
    homes, stores = _population()
    Battery.objects.update(level_at=None)
    ElectricVehicle.objects.update(level_wh=None, level_at=None)
    worker = stack.worker(die_at=phase)

    # The first shard to complete the phase SIGKILLs its pool process; acks_late and
    # task_reject_on_worker_lost put its message back, and a fresh process runs it again.
    for tick in range(TICKS):
        tick_at = T0 + timedelta(seconds=tick * farm.tick_seconds())
        assert tick_run(tick_at=tick_at) == "started"
        wait_until(
            lambda n=tick: HomeEnergyHistory.objects.count() == len(homes) * (n + 1)
            and store.client().get(keys.farm_running_key()) is None,
            f"tick {tick} finalized",
        )
        assert worker.poll() is None, "the worker itself died, not one pool process"
    conn = store.client()
    assert conn.get(KILLED_KEY) is not None, f"no shard was killed after {phase}"
    killed_tick, killed_home = (int(x) for x in conn.get(KILLED_KEY).decode().split(":"))
    assert int(conn.get(keys.farm_shard_attempts_key(killed_tick, killed_home)) or 0) == 2
    crashed_levels, crashed_history = _levels(stores), _history()
    assert len(crashed_history) == len(homes) * TICKS  # counted once
    stack.stop(worker)

    reference_levels, reference_history = _reference_run(homes, stores)
    assert np.array_equal(crashed_levels, reference_levels), phase
    assert crashed_history == reference_history
