"""The suite runs only where its launcher pointed it: without it, pytest stops before it flushes
a Redis database or purges a Celery broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from config.redis_url import redis_url_with_db
from tests.conftest import NOT_PREPARED, servers_refusal
from tests.with_servers import PREPARED_ENV, PREPARED_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
PREPARED = {name: f"redis://127.0.0.1:6379/{i}" for i, name in enumerate(PREPARED_SETTINGS)}


def test_without_the_launcher_the_suite_refuses() -> None:
    assert servers_refusal({}, PREPARED) == NOT_PREPARED
    assert "make test" in NOT_PREPARED


def test_settings_other_than_the_prepared_ones_are_refused() -> None:
    environ = {PREPARED_ENV: json.dumps(PREPARED)}
    assert servers_refusal(environ, PREPARED) is None
    moved = {**PREPARED, "REDIS_STATE_URL": "redis://127.0.0.1:6379/9"}
    refusal = servers_refusal(environ, moved)
    assert refusal is not None and "REDIS_STATE_URL is 'redis://127.0.0.1:6379/9'" in refusal


@pytest.fixture
def sentinel() -> Iterator[tuple[redis.Redis, str]]:
    """A key in the suite's live-state database that a flush would take."""
    conn = redis.Redis.from_url(settings.REDIS_STATE_URL)
    name = f"{settings.REDIS_KEY_PREFIX}sentinel:{uuid.uuid4().hex}"
    conn.set(name, b"1", ex=300)
    yield conn, name
    conn.delete(name)


def _pytest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A database name of its own: were the guard to fail, this run must not replace the
    # suite's test database.
    db = settings.DATABASES["default"]
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/gridtwin_refused"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*command, "tests/devices/test_models.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("how", ["no launcher", "another state database"])
def test_pytest_outside_the_launcher_stops_before_touching_redis(
    how: str, sentinel: tuple[redis.Redis, str]
) -> None:
    env = {name: value for name, value in os.environ.items() if name != PREPARED_ENV}
    if how == "another state database":
        env[PREPARED_ENV] = os.environ[PREPARED_ENV]
        env["REDIS_STATE_URL"] = redis_url_with_db(settings.REDIS_STATE_URL, 15)
    done = _pytest(env)
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "make test" in output
    if how == "another state database":
        assert "REDIS_STATE_URL is" in output
    conn, name = sentinel
    assert conn.exists(name) == 1
