"""grid.fetch_signals through a real Celery worker, Redis and PostgreSQL: a provider that fails
is retried with backoff, and its points are stored once it answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from celery_app import app
from devices.live import store
from grid.models import SignalPoint
from tests.devices.factories import HomeFactory
from tests.grid.celery_worker import default_queue_worker
from tests.grid.worker import ATTEMPTS_KEY
from tests.polling import wait_until
from tests.simulators.farm.stack import environment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "worker.log"
    env = environment(
        GRID_PROVIDERS=json.dumps({"carbon_intensity": [{"kind": "flaky", "fail_times": 1}]}),
        GRID_FETCH_RETRY_BASE_S=1,
    )
    with default_queue_worker(["tests.grid.worker", "--"], env, log):
        yield log


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
