"""grid.fetch_signals in a real Celery worker, reading an HTTP provider on a real local server:
a 500 makes the task try again later, and the answer after it is stored with its source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from celery_app import app
from grid.models import SignalPoint
from tests.devices.factories import HomeFactory
from tests.grid.celery_worker import default_queue_worker
from tests.grid.http_providers.server import LocalServer, reply
from tests.grid.http_providers.test_fetch_http import (
    REGION,
    SECRET,
    VALUE,
    carbon_until_an_hour_ahead,
)
from tests.polling import wait_until
from tests.simulators.farm.stack import environment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker(tmp_path: Path, http_server: LocalServer) -> Iterator[Path]:
    """A Celery worker (the default queue) whose GRID_PROVIDERS reads the local server."""
    log = tmp_path / "worker.log"
    providers = {
        "carbon_intensity": [
            {
                "kind": "json-url",
                "name": "local-carbon",
                "url": http_server.base + "/carbon?from={start}&to={end}&region={region}",
                "timeout_s": 2,
                "retries": 0,
                "api_key": SECRET,
                "api_key_param": "appid",
            }
        ]
    }
    env = environment(GRID_PROVIDERS=json.dumps(providers), GRID_FETCH_RETRY_BASE_S=1)
    with default_queue_worker(["celery", "-A", "celery_app", "worker"], env, log):
        yield log


def test_a_500_is_retried_by_the_task_and_the_next_answer_stored(
    http_server: LocalServer, worker: Path
) -> None:
    HomeFactory(latitude=51.5, longitude=-0.1)
    http_server.route("/carbon", reply(500, b"upstream down"), carbon_until_an_hour_ahead)

    app.send_task("grid.fetch_signals", kwargs={}, queue="default")

    wait_until(lambda: SignalPoint.objects.exists(), "the retried fetch to store its points")
    stored = SignalPoint.objects.filter(region=REGION, signal="carbon_intensity")
    assert {(p.source, p.value) for p in stored} == {("local-carbon", VALUE)}
    requests = http_server.requests_to("/carbon")
    assert len(requests) == 2 and all(r.query["appid"] == [SECRET] for r in requests)
    log = worker.read_text()
    assert "grid signal fetch failed (http_status)" in log and "HTTP 500" in log
    assert "Retry in 1s" in log
    assert SECRET not in log
