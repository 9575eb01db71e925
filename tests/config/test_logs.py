"""No secret reaches a log: the redaction itself, the filter on a record, and real processes'
logging (Django's configuration, uvicorn's and Celery's handlers)."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.logs import REDACTED, RedactSecrets, redact

ROOT = Path(__file__).resolve().parents[2]
DEVICE_KEY = "gt_0123456789ab_Zq3-x_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789a"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwidHlwIjoiYWNjZXNzIn0"
    ".n2v0cmQ4Zr8c4f1E-HlqU0f3uR7m9a_xY2bK5sT6wPQ"
)


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        # The bridge's log of a malformed message: the head of the payload, cut anywhere.
        (f'dropped (not JSON): b\'{{"key": "{DEVICE_KEY}", "readings": [{{\'', "Zq3-x", "key"),
        (f'b\'{{"readings": [], "key": "{DEVICE_KEY[:30]}', "Zq3-x", "readings"),
        # A bare device key keeps its public lookup prefix.
        (f"device {DEVICE_KEY} refused", "Zq3-x", "gt_0123456789ab_"),
        (f"X-API-Key: {DEVICE_KEY}", "Zq3-x", "X-API-Key"),
        (f"{{'HTTP_X_API_KEY': '{DEVICE_KEY}'}}", "Zq3-x", "HTTP_X_API_KEY"),
        ("a malformed key gt_not-a-real-shape_secret", "not-a-real-shape_secret", "gt_"),
        # JWTs, wherever they appear, and bearer credentials.
        (f"Authorization: Bearer {JWT}", "eyJzdWIi", "Authorization"),
        (f"{{'HTTP_AUTHORIZATION': 'Bearer {JWT}'}}", "eyJzdWIi", "HTTP_AUTHORIZATION"),
        (f"token {JWT} refused", "eyJzdWIi", "refused"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA", "Authorization"),
        ("bearer abc.DEF-ghi_123", "abc.DEF", "bearer"),
        # Passwords: JSON, GraphQL arguments, Python reprs and keyword arguments, URL queries.
        ('{"username": "alice", "password": "hunter2 and more"}', "hunter2", "alice"),
        ('loginUser(username: "alice", password: "hunter2") {', "hunter2", "loginUser"),
        ("{'password': 'hunter2', 'x': 1}", "hunter2", "'x': 1"),
        ("user_login(username='alice', password='hunter2')", "hunter2", "alice"),
        ("POST /login?user=alice&password=hunter2&next=/ HTTP/1.1", "hunter2", "next=/"),
        ('{\\"password\\": \\"hunter2\\", \\"user\\": 1}', "hunter2", "user"),
        ("DEVICE_KEY_SECRET=s3cr3t-value", "s3cr3t-value", "DEVICE_KEY_SECRET"),
        # Refresh tokens and other named tokens.
        ('refreshToken(refreshToken: "opaque-refresh-value")', "opaque-refresh-value", "refresh"),
        ('{"refresh_token": "opaque-refresh-value"}', "opaque-refresh-value", "refresh_token"),
        ("Cookie: sessionid=abc123; csrftoken=def456", "abc123", "Cookie"),
        # Passwords in URLs: Redis, MQTT, PostgreSQL.
        ("Error connecting to redis://:pw-in-url@redis.example:6379/1", "pw-in-url", "6379/1"),
        ("broker mqtt://bridge:pw-in-url@broker:1883 refused", "pw-in-url", "bridge:"),
        ("postgres://gridtwin:p%40ss-in-url@db:5432/gridtwin", "ss-in-url", "db:5432"),
    ],
)
def test_secrets_are_redacted(text: str, secret: str, kept: str) -> None:
    redacted = redact(text)
    assert secret not in redacted
    assert REDACTED in redacted
    assert kept in redacted
    assert redact(redacted) == redacted  # a second pass changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "login failed for 'alice' from 192.0.2.1",
        "Invalid username or password.",
        "Token expired.",
        "farm: tick 2026-01-15T00:01:00+00:00 skipped (3 skipped so far)",
        "mqtt bridge: connected to 127.0.0.1:1883, prefix gridtwin/devices",
        "GET http://127.0.0.1:8000/graphql/ 200",
        "redis://redis.example:6379/0",
        "mqtt bridge: bad key or wrong device on gridtwin/devices/7/telemetry",
        "weight_kg=12 budget_total=3",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def _emit(record: logging.LogRecord) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactSecrets())
    handler.handle(record)
    return stream.getvalue()


def _record(msg: str, *args: object, exc: bool = False, stack: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ConnectionError("Error connecting to redis://:pw-in-exception@redis:6379/1")
        except ConnectionError:
            exc_info = sys.exc_info()
    record = logging.getLogger("test.redaction").makeRecord(
        "test.redaction", logging.WARNING, __file__, 1, msg, args, exc_info
    )
    if stack:
        record.stack_info = f"Stack (most recent call last):\n  password = {'hunter2'!r}"
    return record


def test_the_filter_redacts_arguments_exceptions_and_stacks() -> None:
    output = _emit(_record("payload %r from %s", {"key": DEVICE_KEY}, "meter-1"))
    assert "Zq3-x" not in output and "meter-1" in output
    output = _emit(_record("%(who)s sent %(key)s", {"who": "meter-1", "key": DEVICE_KEY}))
    assert "Zq3-x" not in output and "meter-1 sent gt_0123456789ab_" in output
    output = _emit(_record("lost the state database", exc=True))
    assert "pw-in-exception" not in output
    assert "Traceback (most recent call last)" in output and "ConnectionError" in output
    output = _emit(_record("where were we", stack=True))
    assert "hunter2" not in output and "Stack (most recent call last)" in output


def test_every_handler_sees_the_redacted_record() -> None:
    """The filter changes the record itself: a handler without it, called later, sees the
    redacted text too (and no exception object to render again)."""
    record = _record("key=%s", DEVICE_KEY, exc=True)
    _emit(record)
    later = io.StringIO()
    plain = logging.StreamHandler(later)
    plain.handle(record)
    assert "Zq3-x" not in later.getvalue() and "pw-in-exception" not in later.getvalue()
    assert record.exc_info is None and record.exc_text


def test_a_bad_format_string_is_still_redacted() -> None:
    output = _emit(_record("key %s and %s", DEVICE_KEY))  # one argument short
    assert "Zq3-x" not in output and "gt_0123456789ab_" in output


def _run(script: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "LOG_LEVEL": "INFO"}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


LEAKS = f"""
import logging
for name in ("devices.ingest.mqtt", "uvicorn.error", "celery.task", ""):
    logging.getLogger(name).warning("from %s: key %s", name or "root", "{DEVICE_KEY}")
try:
    raise RuntimeError("redis://:pw-in-exception@redis:6379/1")
except RuntimeError:
    logging.getLogger("devices.tasks").exception("failed")
"""


def test_a_web_process_redacts_on_every_handler() -> None:
    """uvicorn configures its own loggers before Django's settings load; every handler of the
    process, uvicorn's and Django's own defaults included, redacts."""
    script = f"""
import logging
from uvicorn.config import Config
Config("config.asgi:application", log_level="info")  # installs uvicorn's handlers
import config.asgi  # what uvicorn imports: sets Django up
from config.logs import RedactSecrets
handlers = [h for l in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
            if isinstance(l, logging.Logger) for h in l.handlers
            if not isinstance(h, logging.NullHandler)]  # libraries' placeholders write nothing
assert len(handlers) >= 3, handlers
missing = [h for h in handlers if not any(isinstance(f, RedactSecrets) for f in h.filters)]
assert not missing, missing
{LEAKS}
access = ("127.0.0.1:5000", "GET", "/graphql/?token=opaque-in-query&x=1", "1.1", 200)
logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', *access)
"""
    done = _run(script)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # uvicorn's access format reads the record's arguments: they stay, redacted.
    assert '"GET /graphql/?token=[REDACTED]&x=1 HTTP/1.1" 200' in output
    assert "Logging error" not in output and "opaque-in-query" not in output
    assert "from uvicorn.error: key gt_0123456789ab_" in output
    assert "from root: key gt_0123456789ab_" in output and "RuntimeError" in output
    assert "Zq3-x" not in output and "pw-in-exception" not in output


def test_worker_and_beat_logging_redacts() -> None:
    """Celery replaces the root logger's handlers with its own when a worker or beat starts."""
    script = f"""
import django
django.setup()
from celery_app import app
app.log.setup(loglevel="INFO")  # what a worker and beat do at start
{LEAKS}
from celery.utils.log import get_task_logger
get_task_logger("simulators.tasks").warning("task: password=%s", "hunter2")
"""
    done = _run(script)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "from celery.task: key gt_0123456789ab_" in output and "task: password=" in output
    assert "Zq3-x" not in output and "pw-in-exception" not in output and "hunter2" not in output
