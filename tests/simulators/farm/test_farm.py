"""The simulation farm end to end (eager Celery, real Redis and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask
from freezegun import freeze_time

from devices import services
from devices.live import codecs, keys, store
from devices.models import Battery, DeviceKind, HomeEnergyHistory
from simulators import farm
from simulators.physics.home import BASE_LOAD_SHAPE
from simulators.tasks import run_energy_simulation_task, tick_run
from tests import live_values
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory

pytestmark = pytest.mark.django_db

# 2026-01-15 00:00 UTC is local midnight in London (winter: UTC+0). Tick index divisible by
# SIM_CHECKPOINT_TICKS (5) so the tick checkpoints levels.
MIDNIGHT = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
# Solar noon in London on 2026-06-21 is about 12:01 UTC.
NOON = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def london_home(owner: Any = None, **fields: Any) -> Any:
    extra = {"owner": owner} if owner is not None else {}
    return HomeFactory(latitude=51.5, longitude=-0.12, timezone="Europe/London", **extra, **fields)


def read(key: str) -> dict[str, Any] | None:
    return live_values.read_many([key])[0]


@pytest.fixture
def small_home(user: Any) -> dict[str, Any]:
    """One home with a panel and a 10 kWh battery at 5 kWh; a second with no devices."""
    home = london_home(owner=user, base_load_w=400.0)
    panel = SolarPanelFactory(home=home)
    battery = BatteryFactory(home=home, level_wh=5000.0, level_at=MIDNIGHT - timedelta(hours=1))
    bare = london_home(owner=user, base_load_w=300.0)
    return {"home": home, "panel": panel, "battery": battery, "bare": bare}


def test_midnight_tick_matches_hand_computed_stats(small_home: dict[str, Any], user: Any) -> None:
    with freeze_time(MIDNIGHT + timedelta(seconds=5)):
        assert run_energy_simulation_task.delay().get() == "started"
        home, bare = small_home["home"], small_home["bare"]
        # Local midnight: no sun; consumption is the base load's midnight share; the battery
        # (5 kWh, 5 kW, floor 1 kWh) covers it all, so nothing is imported.
        load = 400.0 * BASE_LOAD_SHAPE[0]
        stats = read(keys.home_stats_key(home.pk))
        assert stats is not None
        assert stats["production_w"] == 0.0
        assert stats["consumption_w"] == pytest.approx(load, abs=1e-3)
        assert stats["storage_flow_w"] == pytest.approx(-load, abs=1e-3)
        assert stats["net_grid_flow_w"] == pytest.approx(0.0, abs=1e-3)
        assert stats["self_sufficiency"] == pytest.approx(1.0)
        level = 5000.0 - load * 60 / 3600
        assert stats["storage_level_wh"] == pytest.approx(level, abs=1e-3)
        assert stats["ts"] == int(MIDNIGHT.timestamp())
        # The bare home imports its whole base load.
        bare_load = 300.0 * BASE_LOAD_SHAPE[0]
        bare_stats = read(keys.home_stats_key(bare.pk))
        assert bare_stats is not None
        assert bare_stats["net_grid_flow_w"] == pytest.approx(bare_load, abs=1e-3)
        assert bare_stats["self_sufficiency"] == 0.0
        # The user's total is the sum of both homes.
        total = read(keys.user_stats_key(user.pk))
        assert total is not None
        assert total["consumption_w"] == pytest.approx(load + bare_load, abs=1e-2)
        assert total["net_grid_flow_w"] == pytest.approx(bare_load, abs=1e-2)
        assert total["self_sufficiency"] == pytest.approx(load / (load + bare_load), abs=1e-6)
        # Devices.
        panel = read(keys.device_current_key(small_home["panel"].pk))
        tick_s = int(MIDNIGHT.timestamp())
        assert panel == {"power_w": 0.0, "status": "online", "ts": tick_s, "until": tick_s + 120}
        storage = read(keys.device_storage_key(small_home["battery"].pk))
        assert storage is not None
        assert storage["level_wh"] == pytest.approx(level, abs=1e-6)
        assert storage["flow_w"] == pytest.approx(-load, abs=1e-6)
        assert storage["mode"] == "discharging"
    # History: one row per home, in Wh over the minute.
    rows = {row.home_id: row for row in HomeEnergyHistory.objects.all()}
    assert set(rows) == {home.pk, bare.pk}
    assert rows[home.pk].consumption_wh == pytest.approx(load / 60, abs=1e-6)
    assert rows[home.pk].discharge_wh == pytest.approx(load / 60, abs=1e-6)
    assert rows[home.pk].import_wh == pytest.approx(0.0, abs=1e-6)
    assert rows[bare.pk].import_wh == pytest.approx(bare_load / 60, abs=1e-6)
    # The tick was a checkpoint tick: the level is in PostgreSQL too.
    battery = Battery.objects.get(pk=small_home["battery"].pk)
    assert battery.level_wh == pytest.approx(level, abs=1e-6)
    assert battery.level_at == MIDNIGHT


def test_noon_tick_produces_and_balances(small_home: dict[str, Any]) -> None:
    with freeze_time(NOON + timedelta(seconds=1)):
        run_energy_simulation_task.delay()
        stats = read(keys.home_stats_key(small_home["home"].pk))
        assert stats is not None
        # A 2 kW panel at June noon gives well over 300 W even under full overcast (the cloud
        # factor is at least 0.25); the seeded draw depends on the panel's id, so on test order.
        assert stats["production_w"] > 300.0
        assert stats["net_grid_flow_w"] == pytest.approx(
            stats["consumption_w"] + stats["storage_flow_w"] - stats["production_w"], abs=1e-2
        )
        panel = read(keys.device_current_key(small_home["panel"].pk))
        assert panel is not None
        assert 0.0 < panel["power_w"] <= 2000.0


def test_every_key_has_its_ttl(small_home: dict[str, Any], user: Any) -> None:
    tick_run(tick_at=MIDNIGHT)
    conn = store.client()
    names = [
        keys.device_current_key(small_home["panel"].pk),
        keys.device_current_key(small_home["battery"].pk),
        keys.device_storage_key(small_home["battery"].pk),
        keys.home_stats_key(small_home["home"].pk),
        keys.home_stats_key(small_home["bare"].pk),
        keys.user_stats_key(user.pk),
    ]
    for key in names:
        assert 0 < conn.ttl(key) <= 120, key


def test_values_stay_current_until_the_next_tick_is_overdue(small_home: dict[str, Any]) -> None:
    # Tick T starts by T + P/2 (beat fires twice per interval); tick T + P by T + 1.5P, with
    # half an interval to land: a value of tick T is current until T + 2P, whatever the offset.
    tick_run(tick_at=MIDNIGHT)
    value = read(keys.home_stats_key(small_home["home"].pk))
    assert value is not None
    assert value["until"] == MIDNIGHT.timestamp() + 120
    assert not codecs.is_stale(value, now=MIDNIGHT.timestamp() + 61)
    assert not codecs.is_stale(value, now=MIDNIGHT.timestamp() + 120)
    assert codecs.is_stale(value, now=MIDNIGHT.timestamp() + 121)
    assert codecs.is_stale(None)
    assert codecs.is_stale({"ts": MIDNIGHT.timestamp()})  # no validity: never read as current


def test_two_beats_for_one_tick_run_it_once(small_home: dict[str, Any]) -> None:
    with freeze_time(MIDNIGHT + timedelta(seconds=2)):
        assert run_energy_simulation_task.delay().get() == "started"
    with freeze_time(MIDNIGHT + timedelta(seconds=40)):
        assert run_energy_simulation_task.delay().get() == "duplicate"
    assert HomeEnergyHistory.objects.count() == 2


def test_a_tick_arriving_while_one_runs_is_skipped_and_counted(
    small_home: dict[str, Any],
) -> None:
    conn = store.client()
    conn.set(keys.farm_running_key(), int(MIDNIGHT.timestamp()) - 60, ex=300)
    assert tick_run(tick_at=MIDNIGHT) == "skipped"
    assert int(conn.get(keys.farm_skipped_key()) or 0) == 1
    assert HomeEnergyHistory.objects.count() == 0
    assert read(keys.home_stats_key(small_home["home"].pk)) is None
    # beat's second firing in the interval, once the previous tick is over, runs it after all
    conn.delete(keys.farm_running_key())
    assert tick_run(tick_at=MIDNIGHT + timedelta(seconds=30)) == "started"
    assert HomeEnergyHistory.objects.count() == 2
    assert tick_run(tick_at=MIDNIGHT + timedelta(seconds=45)) == "duplicate"


def test_repeated_finalize_never_double_counts(small_home: dict[str, Any]) -> None:
    tick_run(tick_at=MIDNIGHT)
    key = keys.farm_shard_key(int(MIDNIGHT.timestamp()), small_home["home"].pk)
    farm.tick_finalize(result_keys=[key], tick_at=MIDNIGHT)
    assert HomeEnergyHistory.objects.count() == 2


def test_after_a_redis_flush_levels_resume_from_the_checkpoint(
    small_home: dict[str, Any],
) -> None:
    battery_id = small_home["battery"].pk
    tick_run(tick_at=MIDNIGHT)  # a checkpoint tick
    checkpoint = Battery.objects.get(pk=battery_id).level_wh
    assert checkpoint is not None
    assert checkpoint < 5000.0
    store.client().flushdb()
    later = MIDNIGHT + timedelta(minutes=1)
    tick_run(tick_at=later)
    storage = read(keys.device_storage_key(battery_id))
    assert storage is not None
    assert storage["level_wh"] == pytest.approx(checkpoint + storage["flow_w"] * 60 / 3600)


def test_a_changed_device_invalidates_the_parameter_cache(small_home: dict[str, Any]) -> None:
    home = small_home["home"]
    first = farm.shard_load(home.pk, home.pk + 1)
    assert farm.shard_load(home.pk, home.pk + 1) is first
    SolarPanelFactory(home=home)
    second = farm.shard_load(home.pk, home.pk + 1)
    assert second is not first
    assert second.population.solar.device_id.shape[0] == 2


def test_shards_are_fixed_id_ranges_covering_every_home_once(settings: Any) -> None:
    assert farm.shards_plan([1, 2, 5, 9, 10], 2) == [(0, 2), (2, 4), (4, 6), (8, 10), (10, 12)]
    assert farm.shards_plan([3, 1000, 1999, 2000], 1000) == [(0, 1000), (1000, 2000), (2000, 3000)]
    settings.SIM_SHARD_HOMES = 1000
    assert farm.shard_of(1999) == 1000


def test_a_created_device_shows_at_once(user: Any, django_capture_on_commit_callbacks: Any) -> None:
    home = london_home(owner=user)
    with django_capture_on_commit_callbacks(execute=True):
        device = services.device_create(
            user_id=user.pk,
            kind=DeviceKind.BATTERY,
            home_id=home.pk,
            name="Wall battery",
            capacity_wh=8000.0,
            max_charge_w=3000.0,
            max_discharge_w=3000.0,
        )
    current = read(keys.device_current_key(device.pk))
    assert current is not None
    assert not codecs.is_stale(current)
    assert read(keys.home_stats_key(home.pk)) is not None


def test_setup_schedule_is_idempotent() -> None:
    call_command("setup_schedule")
    call_command("setup_schedule")
    task = PeriodicTask.objects.get(task="simulators.run_energy_simulation")
    assert task.interval is not None
    # Twice per tick: beat's drift can then never leave an interval without a firing.
    assert task.interval.every == 30_000_000
    assert task.interval.period == "microseconds"
    assert 0 < task.expire_seconds < 30
    assert PeriodicTask.objects.filter(task="simulators.run_energy_simulation").count() == 1


def test_seed_farm_builds_homes_and_child_rows() -> None:
    call_command("seed_farm", homes=4, devices_per_home=10, users=2)
    from devices.models import Device, Home, SolarPanel

    assert Home.objects.count() == 4
    assert Device.objects.count() == 40
    assert SolarPanel.objects.count() == 12
    assert tick_run(tick_at=NOON) == "started"
    assert HomeEnergyHistory.objects.count() == 4


def test_a_meters_fresh_power_is_the_homes_measured_load(user: Any) -> None:
    """A physical meter's live reading joins its home's consumption; a stale one does not."""
    from tests.devices.factories import EnergyMeterFactory

    metered = london_home(owner=user, base_load_w=300.0)
    stale_home = london_home(owner=user, base_load_w=300.0)
    meter = EnergyMeterFactory(home=metered)
    old_meter = EnergyMeterFactory(home=stale_home)
    tick_s = int(MIDNIGHT.timestamp())
    live_values.write_many(
        [
            (
                keys.device_current_key(meter.pk),
                {"power_w": 1500.0, "ts": tick_s - 10, "until": tick_s + 10},
            ),
            (
                keys.device_current_key(old_meter.pk),
                {"power_w": 900.0, "ts": tick_s - 600, "until": tick_s - 580},
            ),
        ],
        expire_s=3600,
    )
    with freeze_time(MIDNIGHT + timedelta(seconds=5)):
        run_energy_simulation_task.delay()
    base = 300.0 * BASE_LOAD_SHAPE[0]
    stats = read(keys.home_stats_key(metered.pk))
    assert stats is not None
    assert stats["consumption_w"] == pytest.approx(base + 1500.0, abs=1e-3)
    assert stats["net_grid_flow_w"] == pytest.approx(base + 1500.0, abs=1e-3)
    stale_stats = read(keys.home_stats_key(stale_home.pk))
    assert stale_stats is not None
    assert stale_stats["consumption_w"] == pytest.approx(base, abs=1e-3)
    total = read(keys.user_stats_key(user.pk))
    assert total is not None
    assert total["consumption_w"] == pytest.approx(2 * base + 1500.0, abs=1e-2)
