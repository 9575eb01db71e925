"""grid.fetch_signals through a real Celery worker, Redis and PostgreSQL: a provider that fails
is retried with backoff, and its points are stored once it answers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from celery_app import app
from devices.live import store
from grid.models import SignalPoint
from tests.devices.factories import HomeFactory
from tests.grid.worker import ATTEMPTS_KEY
from tests.polling import wait_until
from tests.simulators.farm.stack import ROOT, environment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "worker.log"
    env = environment(
        GRID_PROVIDERS=json.dumps({"carbon_intensity": [{"kind": "flaky", "fail_times": 1}]}),
        GRID_FETCH_RETRY_BASE_S=1,
    )
    eager = app.conf.task_always_eager
    app.conf["CELERY_TASK_ALWAYS_EAGER"] = False
    app.control.purge()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.grid.worker", "--", "--queues", "default",
             "--concurrency", "1", "--pool", "prefork", "--without-heartbeat",
             "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield log
    finally:
        app.conf["CELERY_TASK_ALWAYS_EAGER"] = eager
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(log.read_text()[-4000:])


def test_a_failing_provider_is_retried_and_then_stored(worker: Path) -> None:
    HomeFactory(latitude=51.5, longitude=-0.1)
    store.client().delete(ATTEMPTS_KEY)

    app.send_task("grid.fetch_signals", kwargs={}, queue="default")

    wait_until(lambda: SignalPoint.objects.exists(), "the retried fetch to store its point")
    point = SignalPoint.objects.get()
    assert (point.signal, point.region, point.source, point.value) == (
        "carbon_intensity", "geo:52,0", "flaky", 111.0,
    )  # fmt: skip
    assert int(store.client().get(ATTEMPTS_KEY) or 0) == 2
    log = worker.read_text()
    assert "grid signal fetch failed (error)" in log and "HTTP 503" in log
    assert "Retry in 1s" in log
