"""Two deployments on one Redis database keep apart by ``REDIS_KEY_PREFIX``: live values, tick
locks, channels, caches and Celery's queues.

Both deployments here share the test's PostgreSQL rows, so the same ids would name the same
keys: the worst case for a collision.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import override_settings

from accounts import services as accounts
from accounts.throttle import LoginThrottled
from celery_app import app
from config.redis_url import redis_key_prefix
from devices import hardware
from devices.live import channels, codecs, store
from simulators.tasks import run_energy_simulation_task, tick_run
from tests.asgi_client import Client
from tests.devices.factories import (
    BatteryFactory,
    EnergyMeterFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.devices.support import _ingest_in_test_thread, post, reading  # noqa: F401

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]

# Neither tick is a checkpoint tick (index not divisible by SIM_CHECKPOINT_TICKS): storage levels
# stay in Redis, where each deployment keeps its own.
T = datetime(2026, 1, 15, 0, 1, tzinfo=UTC)
T_NEXT = T + timedelta(seconds=60)


@contextmanager
def deployment(name: str) -> Iterator[None]:
    with override_settings(REDIS_KEY_PREFIX=f"deploy-{name}:"):
        yield


@pytest.fixture
def home(user: Any) -> dict[str, Any]:
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.12, timezone="Europe/London")
    panel = SolarPanelFactory(home=home)
    battery = BatteryFactory(home=home, level_wh=5000.0, level_at=T - timedelta(hours=1))
    return {"home": home.pk, "panel": panel.pk, "battery": battery.pk, "user": user.pk}


def live(ids: dict[str, Any]) -> dict[str, Any]:
    """Everything of the home the deployment in force sees, with the instant it describes."""
    stats = store.home_stats([ids["home"]])[0]
    current = store.device_currents([ids["panel"]])[0]
    storage = store.device_storages([ids["battery"]])[0]
    total = store.user_stats(ids["user"])
    values = {"home": stats, "panel": current, "battery": storage, "user": total}
    return {name: (value or {}).get("ts") for name, value in values.items()}


def test_two_deployments_tick_without_seeing_each_other(home: dict[str, Any]) -> None:
    # Given deployment A has run tick T
    with deployment("a"):
        assert tick_run(tick_at=T) == "started"
        a_battery = store.device_storages([home["battery"]])[0]
    # When deployment B, on the same Redis database, runs tick T and then the next one
    with deployment("b"):
        assert live(home) == dict.fromkeys(("home", "panel", "battery", "user"))  # sees nothing
        assert tick_run(tick_at=T) == "started"  # A's lock for T is not B's
        assert live(home) == dict.fromkeys(("home", "panel", "battery", "user"), int(T.timestamp()))
        assert tick_run(tick_at=T_NEXT) == "started"
        assert tick_run(tick_at=T) == "duplicate"  # B's own lock holds
    # Then A's values are still A's tick T, untouched by B's later tick
    with deployment("a"):
        assert live(home) == dict.fromkeys(("home", "panel", "battery", "user"), int(T.timestamp()))
        assert store.device_storages([home["battery"]])[0] == a_battery
        assert tick_run(tick_at=T) == "duplicate"  # A's lock holds
        assert tick_run(tick_at=T_NEXT) == "started"  # B's lock for the next tick is not A's
    with deployment("b"):
        assert live(home) == dict.fromkeys(
            ("home", "panel", "battery", "user"), int(T_NEXT.timestamp())
        )


def test_a_deployment_hears_only_its_own_channels(home: dict[str, Any]) -> None:
    with deployment("a"):
        channel = channels.home_channel(home["home"])
    listener = store.client().pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    try:
        assert listener.get_message(timeout=1) is None  # the subscription is confirmed
        with deployment("b"):
            assert tick_run(tick_at=T) == "started"
        with deployment("a"):
            assert tick_run(tick_at=T_NEXT) == "started"
        heard = []
        while (message := listener.get_message(timeout=1)) is not None:
            heard.append(codecs.decode(message["data"]))
        assert [value["ts"] for value in heard if value] == [int(T_NEXT.timestamp())]
    finally:
        listener.close()


def test_caches_and_login_limits_keep_apart(user: Any) -> None:
    with deployment("a"):
        cache.set("shared-name", "a's")
        for _ in range(5):
            with pytest.raises(ValidationError):
                accounts.user_login(username="alice", password="wrong", client_ip="192.0.2.1")
        with pytest.raises(LoginThrottled):
            accounts.user_login(username="alice", password="wrong", client_ip="192.0.2.1")
    with deployment("b"):
        assert cache.get("shared-name") is None
        with pytest.raises(ValidationError):  # B counts its own failures
            accounts.user_login(username="alice", password="wrong", client_ip="192.0.2.1")


def test_every_key_a_deployment_writes_is_under_its_prefix(home: dict[str, Any], user: Any) -> None:
    """The state database is empty at the start of the test (tests/conftest.py)."""
    with deployment("a"):
        assert tick_run(tick_at=T) == "started"
        meter = EnergyMeterFactory(home_id=home["home"], reporting_interval_s=10)
        key = hardware.device_api_key_rotate(user_id=user.pk, device_id=meter.pk).key
        assert post(Client(), key, reading()).status_code == 201  # key cache, live, seen, lock
        with pytest.raises(ValidationError):
            accounts.user_login(username="alice", password="wrong", client_ip="192.0.2.1")
    names = sorted(name.decode() for name in store.client().scan_iter(count=1000))
    assert len(names) > 10
    assert [name for name in names if not name.startswith("deploy-a:")] == []
    assert any(":cache:" in name for name in names)  # the login limit's counters
    assert any(name.startswith("deploy-a:lock:") for name in names)  # the seen-flush lock
    assert any(name.startswith("deploy-a:farm:tick:") for name in names)  # the tick lock


def test_celery_queues_are_under_the_prefix(real_broker: None) -> None:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = f"{settings.REDIS_KEY_PREFIX}celery:default"
    unprefixed = broker.llen("default")
    try:
        run_energy_simulation_task.delay()
        assert broker.llen(queue) == 1
        assert broker.llen("default") == unprefixed
    finally:
        app.control.purge()
    assert broker.llen(queue) == 0


@pytest.mark.parametrize("value", ["gridtwin:", "gridtwin-staging:", "acme:grid.v2:"])
def test_a_prefix_is_a_name_ending_in_a_colon(value: str) -> None:
    assert redis_key_prefix(value) == value


@pytest.mark.parametrize("value", ["", ":", "gridtwin", "grid twin:", "grid*:", "a::"])
def test_a_prefix_that_could_run_into_another_is_refused(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="REDIS_KEY_PREFIX must be"):
        redis_key_prefix(value)


@pytest.mark.parametrize("module", ["config.settings.local", "config.settings.production"])
def test_a_bad_prefix_stops_the_process_at_start(module: str) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": module, "REDIS_KEY_PREFIX": "gridtwin"}
    env["SECRET_KEY"] = "x" * 40
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "REDIS_KEY_PREFIX must be" in done.stderr and "'gridtwin'" in done.stderr
