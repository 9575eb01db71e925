"""Log lines with a request id, as plain text or JSON lines (LOG_FORMAT)."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import runpy
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse

from devices.ingest import http as ingest_http
from monitoring import logs
from tests.graphql_api.live_server import LiveServer, live_server

ROOT = Path(__file__).resolve().parents[2]


class Lines(logging.Handler):
    """Formats records as the console handler of LOG_FORMAT=json would."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(logs.RequestIdFilter())
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def server(transactional_db: None) -> Iterator[LiveServer]:
    with live_server() as running:
        yield running


def test_the_request_id_is_answered_and_on_every_line_of_the_request(
    server: LiveServer, lines: Lines
) -> None:
    base = f"http://127.0.0.1:{server.port}"

    given = httpx.get(f"{base}/no/such/page/", headers={"X-Request-ID": "abc-123"}, timeout=5)
    made = httpx.post(f"{base}/graphql/", json={"query": "{ me { id } }"}, timeout=5)
    forged = httpx.get(f"{base}/healthz", headers={"X-Request-ID": 'a "b" c'}, timeout=5)
    too_long = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "x" * 129}, timeout=5)

    assert given.status_code == 404 and given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32  # generated
    assert len(forged.headers["x-request-id"]) == len(too_long.headers["x-request-id"]) == 32
    not_found = [line for line in lines.lines if line["logger"] == "django.request"]
    assert not_found and all(line["request_id"] == "abc-123" for line in not_found)
    # A line outside any request (httpx's own request lines are off: LOGGING keeps it at WARNING,
    # since they show whole URLs, queries included).
    logging.getLogger("tests.client").warning("after the requests")
    client_side = [line for line in lines.lines if line["logger"] == "tests.client"]
    assert client_side and all(line["request_id"] == "-" for line in client_side)
    assert not [line for line in lines.lines if line["logger"] == "httpx"]


def test_ingest_threads_log_with_the_request_they_serve() -> None:
    def answer() -> JsonResponse:
        return JsonResponse({"request_id": logs.request_id()})

    with ThreadPoolExecutor(max_workers=1) as pool:  # one thread, reused by both requests
        for request_id in ("first-request", "second-request"):
            token = logs.request_id_set(request_id)
            try:
                context = contextvars.copy_context()
                response = pool.submit(context.run, ingest_http._in_worker, answer).result()
            finally:
                logs.request_id_reset(token)
            assert json.loads(response.content) == {"request_id": request_id}


def test_json_lines_carry_fixed_fields_only() -> None:
    record = logging.LogRecord("gridtwin.test", logging.ERROR, __file__, 1, "a %s", ("b",), None)
    record.api_key = "gtk_secret"  # attached by some caller: never copied into the line
    logs.RequestIdFilter().filter(record)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()

    line = json.loads(logs.JsonFormatter().format(record))

    assert set(line) == {"time", "level", "logger", "message", "request_id", "process", "exception"}
    assert line["message"] == "a b" and line["level"] == "ERROR" and line["request_id"] == "-"
    assert "ValueError: boom" in line["exception"]
    assert "gtk_secret" not in json.dumps(line)


def _log_one_line(log_format: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "LOG_FORMAT": log_format}
    code = "import django, logging; django.setup(); logging.getLogger('gridtwin').warning('hello')"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_log_format_json_or_plain() -> None:
    as_json = _log_one_line("json")
    plain = _log_one_line("plain")

    assert as_json.returncode == 0, as_json.stderr
    line = json.loads(as_json.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello" and line["logger"] == "gridtwin"
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.strip().endswith("WARNING gridtwin [-] hello")


def test_an_unknown_log_format_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")

    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT must be plain or json, not 'xml'"):
        runpy.run_path(str(ROOT / "config" / "settings" / "base.py"))
