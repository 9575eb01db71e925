"""Shared pieces of the benchmarks: a throwaway database, a real server, percentiles."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from config.db_url import psycopg_conninfo
from config.local_servers import free_port, port_open, stop_process

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(label: str, seconds: Sequence[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{label}: n={len(ms)} p50={percentile(ms, 50):.2f} ms p99={percentile(ms, 99):.2f} ms "
        f"max={max(ms):.2f} ms mean={statistics.fmean(ms):.2f} ms"
    )


def fresh_database(name: str) -> str:
    """Drop and create database ``name`` on the server of DATABASE_URL; return its URL."""
    base = os.environ["DATABASE_URL"]
    with psycopg.connect(psycopg_conninfo(base, dbname="postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DEBUG="false",
        GRAPHIQL="false",
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        DB_POOL="true",
        # Apart from a test run or a development server on the same Redis.
        REDIS_KEY_PREFIX="gridtwin-bench:",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


@dataclass(frozen=True)
class RunningServer:
    url: str
    pid: int


@contextlib.contextmanager
def uvicorn_process(
    env: dict[str, str], *extra_args: str, app: str = "config.asgi:application"
) -> Iterator[RunningServer]:
    """Run ``app`` under uvicorn on a free port until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning", *extra_args],
        env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port, 0.2):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.1)
        yield RunningServer(url=f"http://127.0.0.1:{port}", pid=process.pid)
    finally:
        stop_process(process)


@contextlib.contextmanager
def uvicorn_server(
    env: dict[str, str], *extra_args: str, app: str = "config.asgi:application"
) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free port; yield its base URL."""
    with uvicorn_process(env, *extra_args, app=app) as server:
        yield server.url
