"""A real Celery worker SIGKILLed mid-shard: the shard is redelivered, history counted once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from celery_app import app
from devices.live import keys, store
from devices.models import HomeEnergyHistory
from simulators import farm
from simulators.tasks import tick_run
from tests import live_values
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory

ROOT = Path(__file__).resolve().parents[3]
TICK = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(log_path: Path) -> subprocess.Popen[bytes]:
    """A real worker on the test database, with the one-time crash hook armed."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        # Development settings: unlike the test settings, tasks sent by tasks go to the broker.
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
        farm.TEST_KILL_ENV: "1",
    }
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--queues",
             "default,sim", "--concurrency", "1", "--pool", "prefork", "--without-heartbeat",
             "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal the worker; SIGKILL goes to its whole process group, as when a machine dies.

    (SIGKILL to the main process alone leaves its pool children holding the inherited broker
    socket, on which Redis may still hand over the next message: that message is lost.)
    """
    if process.poll() is None:
        if sig == signal.SIGKILL:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Workers started by the test; all stopped at the end (their log is printed)."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            stop(process)
        log = tmp_path / "worker.log"
        if log.exists():
            print(log.read_text()[-4000:])


def wait_for_history(rows: int, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while HomeEnergyHistory.objects.count() < rows and time.monotonic() < deadline:
        assert worker.poll() is None, "the worker itself died"
        time.sleep(0.2)


@pytest.fixture
def real_broker() -> Iterator[None]:
    """Send tasks to the broker instead of running them in-process (tests are eager)."""
    # The app reads Django's namespaced setting first: override it under that name.
    eager = app.conf.task_always_eager
    app.conf["CELERY_TASK_ALWAYS_EAGER"] = False
    app.control.purge()
    try:
        yield
    finally:
        app.conf["CELERY_TASK_ALWAYS_EAGER"] = eager


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_shard_redelivers_and_counts_once(
    workers: list[subprocess.Popen[bytes]], tmp_path: Path, settings: Any, real_broker: None
) -> None:
    settings.SIM_SHARD_HOMES = 1
    homes = [HomeFactory(latitude=51.5, longitude=-0.1, timezone="Europe/London") for _ in range(2)]
    for home in homes:
        SolarPanelFactory(home=home)
        BatteryFactory(home=home, level_wh=5000.0)
    workers.append(start_worker(tmp_path / "worker.log"))

    # The first shard SIGKILLs its worker process mid-shard; the message is rejected back to
    # the queue (acks_late + task_reject_on_worker_lost) and runs again in a fresh process.
    assert tick_run(tick_at=TICK) == "started"
    wait_for_history(2, workers[0])
    conn = store.client()
    tick_s = int(TICK.timestamp())
    assert conn.get(keys.farm_test_kill_key()) is not None, "the crash hook never fired"
    assert HomeEnergyHistory.objects.count() == 2
    assert sorted(HomeEnergyHistory.objects.values_list("home_id", flat=True)) == sorted(
        home.pk for home in homes
    )
    attempts = [int(conn.get(keys.farm_shard_attempts_key(tick_s, home.pk)) or 0) for home in homes]
    assert sorted(attempts) == [1, 2]  # the killed shard ran twice, the other once
    for home in homes:
        assert live_values.read_many([keys.home_stats_key(home.pk)])[0] is not None
    # The tick is over: the running flag is released, so the next tick is not skipped.
    assert conn.get(keys.farm_running_key()) is None

    # The whole worker SIGKILLed, a new one started: the next tick runs normally.
    stop(workers[0], signal.SIGKILL)
    workers.append(start_worker(tmp_path / "worker.log"))
    assert tick_run(tick_at=farm.tick_after(TICK)) == "started"
    wait_for_history(4, workers[1])
    assert HomeEnergyHistory.objects.count() == 4
