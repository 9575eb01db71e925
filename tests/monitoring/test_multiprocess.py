"""Metrics across processes: two uvicorn processes share PROMETHEUS_MULTIPROC_DIR, either one's
/metrics adds both up, and a process that dies stops counting in the live gauges."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from django.conf import settings
from websockets.typing import Subprotocol

from config.local_servers import free_port, port_open
from tests.monitoring.support import scrape, value

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = "gridtwin_websocket_connections"
HEALTHZ = "gridtwin_http_responses_total"


def _environment(metrics_dir: Path) -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    return env


@pytest.fixture
def metrics_dir(tmp_path: Path) -> Path:
    path = tmp_path / "metrics"
    path.mkdir()
    return path


@pytest.fixture
def web(metrics_dir: Path) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """Two web processes counting into one directory."""
    started: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for _ in range(2):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host",
                 "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                env=_environment(metrics_dir), cwd=ROOT,
            )  # fmt: skip
            started.append((f"http://127.0.0.1:{port}", process))
        for url, process in started:
            deadline = time.monotonic() + 30
            while not port_open("127.0.0.1", int(url.rsplit(":", 1)[1]), 0.2):
                assert process.poll() is None, "uvicorn exited"
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        yield started
    finally:
        for _, process in started:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)


def healthz_count(url: str) -> float:
    return value(scrape(url), HEALTHZ, route="/healthz", method="GET", status="200")


def test_two_processes_counts_add_up_and_a_dead_one_leaves_the_live_gauges(
    web: list[tuple[str, subprocess.Popen[bytes]]],
) -> None:
    (first, _), (second, second_process) = web
    for url, times in ((first, 3), (second, 4)):
        for _ in range(times):
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200

    assert healthz_count(first) == 7
    assert healthz_count(second) == 7

    async def connected_then_killed() -> tuple[float, float]:
        # A WebSocket open on the second process counts there; the first one's /metrics sees it.
        async with websockets.connect(
            second.replace("http", "ws") + "/graphql/",
            subprotocols=[Subprotocol("graphql-transport-ws")],
        ):
            during = await asyncio.to_thread(lambda: value(scrape(first), CONNECTIONS))
            second_process.send_signal(signal.SIGKILL)  # no chance to say it is leaving
            await asyncio.to_thread(second_process.wait, 10)
            after = await asyncio.to_thread(lambda: value(scrape(first), CONNECTIONS))
        return during, after

    during, after = asyncio.run(connected_then_killed())

    assert during == 1
    assert after == 0
    assert healthz_count(first) == 7  # what the dead process counted still counts


def test_a_metrics_directory_that_does_not_exist_stops_start_up_with_a_clear_message(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere"
    result = subprocess.run(
        [sys.executable, "-c", "import monitoring.metrics"],
        env=_environment(missing), cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR" in result.stderr and "not a directory" in result.stderr
