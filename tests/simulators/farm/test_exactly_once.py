"""Storage steps exactly once per tick, and an on-demand step is never overwritten by a shard
that read older parameters (the farm's functions in this process, real Redis and PostgreSQL).

The same guarantees under a real worker that dies mid-shard are in test_crash.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices import hardware, services
from devices.live import codecs, keys, ticks
from devices.live import store as live_store
from devices.models import EvMode
from simulators import farm
from simulators.farm import phases
from tests.devices.factories import BatteryFactory, ElectricVehicleFactory, HomeFactory

pytestmark = pytest.mark.django_db

EVENING = datetime(2026, 6, 22, 19, 0, tzinfo=UTC)  # London 20:00: the vehicle is home


@pytest.fixture
def home(user: Any) -> dict[str, Any]:
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone="Europe/London")
    battery = BatteryFactory(home=home, level_wh=5000.0)
    vehicle = ElectricVehicleFactory(  # wants charge; never away, whatever the time of day
        home=home, mode=EvMode.IDLE, level_wh=10_000.0, away_days=0
    )
    return {"home": home, "battery": battery, "vehicle": vehicle}


def _shard(home: Any, tick_at: datetime) -> str | None:
    first = farm.shard_of(home.pk)
    return farm.shard_simulate(tick_at=tick_at, home_id_from=first, home_id_to=first + 1)


def _level(device: Any) -> float:
    value = live_store.device_storages([device.pk])[0]
    assert value is not None
    return float(value["level_wh"])


def test_a_repeated_shard_steps_storage_once(home: dict[str, Any], settings: Any) -> None:
    settings.SIM_SHARD_HOMES = 1
    _shard(home["home"], EVENING)
    once = _level(home["battery"])
    assert once != 5000.0  # the battery moved
    # the same tick again (a redelivery after the write): the same input, the same values
    live_store.client().delete(
        keys.farm_shard_attempts_key(int(EVENING.timestamp()), home["home"].pk)
    )
    assert _shard(home["home"], EVENING) is not None
    assert _level(home["battery"]) == once
    # the next tick moves it on
    _shard(home["home"], farm.tick_after(EVENING))
    assert _level(home["battery"]) != once


def test_a_late_shard_for_an_older_tick_writes_nothing(home: dict[str, Any], settings: Any) -> None:
    settings.SIM_SHARD_HOMES = 1
    _shard(home["home"], EVENING)
    _shard(home["home"], farm.tick_after(EVENING))
    newer = _level(home["battery"])
    assert _shard(home["home"], EVENING) is None
    assert _level(home["battery"]) == newer


def _stored(device: Any) -> Any:
    """The battery's storage record: level, the level it was stepped from, and its tick."""
    raw = live_store.raw_many([keys.device_storage_key(device.pk).encode()])
    records, found = codecs.unpack_storages(raw)
    assert found.all()
    return records[0]


def test_after_the_clock_steps_back_the_running_tick_steps_from_the_newest_level(
    home: dict[str, Any], settings: Any
) -> None:
    settings.SIM_SHARD_HOMES = 1
    _shard(home["home"], EVENING + timedelta(hours=1))
    newest = float(_stored(home["battery"])["level_wh"])
    # The clock stepped back an hour: the farm claims a tick older than the one it stepped.
    plan = farm.tick_claim(tick_at=EVENING)
    assert isinstance(plan, farm.TickPlan)
    assert _shard(home["home"], EVENING) is not None
    stepped = _stored(home["battery"])
    assert int(stepped["ts"]) == int(EVENING.timestamp())
    assert float(stepped["prev_level_wh"]) == newest  # from where it was, not an hour ago
    # and the next tick carries on from there
    ticks.running_release()
    _shard(home["home"], farm.tick_after(EVENING))
    assert float(_stored(home["battery"])["prev_level_wh"]) == float(stepped["level_wh"])


def test_a_command_steps_its_device_once(
    home: dict[str, Any], user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    vehicle = home["vehicle"]
    shard = farm.shard_of(home["home"].pk)
    before = int(ticks.params_version(shard))
    with django_capture_on_commit_callbacks(execute=True):
        hardware.command_send(
            user_id=user.pk, device_id=vehicle.pk, command="set_ev_mode", args={"mode": "charging"}
        )
    assert int(ticks.params_version(shard)) == before + 1  # one on-demand step, after commit
    current = live_store.device_currents([vehicle.pk])[0]
    assert current is not None and current["mode"] == "charging"


def test_a_shard_holding_older_parameters_does_not_overwrite_an_on_demand_step(
    home: dict[str, Any], user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SIM_SHARD_HOMES = 1
    vehicle = home["vehicle"]
    _shard(home["home"], EVENING)
    tick_at = farm.tick_after(EVENING)

    # while the shard steps with the vehicle idle, its owner asks it to charge
    def command_during_physics(phase: str, tick_s: int, home_id_from: int) -> None:
        if phase == "physics" and not commanded:
            commanded.append(True)
            with django_capture_on_commit_callbacks(execute=True):
                services.electric_vehicle_set_mode(
                    user_id=user.pk, device_id=vehicle.pk, mode=EvMode.CHARGING
                )

    commanded: list[bool] = []
    stop = phases.observe(command_during_physics)
    try:
        assert _shard(home["home"], tick_at) is not None
    finally:
        stop()

    # the shard saw its parameters move, reloaded and wrote the charging vehicle
    assert commanded
    current = live_store.device_currents([vehicle.pk])[0]
    assert current is not None and current["mode"] == "charging"
    assert current["ts"] == int(tick_at.timestamp())
    storage = live_store.device_storages([vehicle.pk])[0]
    assert storage is not None and storage["ts"] == int(tick_at.timestamp())
    assert storage["flow_w"] > 0  # charging in the tick's own step


def test_values_carry_the_instant_they_stop_being_current(
    home: dict[str, Any], settings: Any
) -> None:
    settings.SIM_SHARD_HOMES = 1
    _shard(home["home"], EVENING)
    tick_s = int(EVENING.timestamp())
    until = tick_s + 2 * settings.TICK_SECONDS
    stats = live_store.home_stats([home["home"].pk])[0]
    assert stats is not None and (stats["ts"], stats["until"]) == (tick_s, until)
    for value in live_store.device_currents([home["battery"].pk, home["vehicle"].pk]):
        assert value is not None and (value["ts"], value["until"]) == (tick_s, until)
    assert farm.valid_until(tick_s) == until
    assert farm.tick_align(EVENING + timedelta(seconds=59)) == EVENING
