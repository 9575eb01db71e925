"""Readiness of the web process: what ``/readyz`` checks.

- ``database``: PostgreSQL answers ``SELECT 1``;
- ``redis``: the live-state Redis answers ``PING``;
- ``broker``: the Celery broker accepts a connection;
- ``farm``: the newest finalized tick is at most ``READY_MAX_TICK_AGE_S`` old (default three
  ticks: one missed tick is tolerated, a stopped farm is not), or there are no homes to tick.

Every check runs in a thread of its own and has ``CHECK_TIMEOUT_S`` to answer, so a dependency
that hangs makes the answer "not ready", never a hung probe. A failure is reported by the
check's name and the error's class only: no URL, host or message (which may carry a password)
reaches the answer. A check that starts or stops failing is logged once, not at every probe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connections
from kombu import Connection

from devices.live import store
from simulators.farm import farm_lag

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0
Report = dict[str, Any]

# Their own threads: a hanging dependency must not take the threads requests run in.
_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readiness")
_failing: dict[str, bool] = {}


def max_tick_age_s() -> int:
    return int(settings.READY_MAX_TICK_AGE_S)


def database_check() -> Report:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True}


def redis_check() -> Report:
    store.probe_client(CHECK_TIMEOUT_S).ping()
    return {"ok": True}


def broker_check() -> Report:
    options = {"socket_timeout": CHECK_TIMEOUT_S, "socket_connect_timeout": CHECK_TIMEOUT_S}
    with Connection(
        settings.CELERY_BROKER_URL, connect_timeout=CHECK_TIMEOUT_S, transport_options=options
    ) as connection:
        connection.ensure_connection(max_retries=0)
    return {"ok": True}


def farm_check() -> Report:
    lag = farm_lag(now=datetime.now(UTC), conn=store.probe_client(CHECK_TIMEOUT_S))
    limit = max_tick_age_s()
    on_time = lag.age_s is not None and lag.age_s <= limit
    return {
        "ok": on_time or not lag.homes,
        "last_tick_at": lag.last_tick_at.isoformat() if lag.last_tick_at else None,
        "age_s": round(lag.age_s, 3) if lag.age_s is not None else None,
        "max_age_s": limit,
        "homes": lag.homes,
    }


CHECKS: dict[str, Callable[[], Report]] = {
    "database": database_check,
    "redis": redis_check,
    "broker": broker_check,
    "farm": farm_check,
}


def _run(check: Callable[[], Report]) -> Report:
    started = time.perf_counter()
    try:
        report = check()
    except Exception as exc:
        report = {"ok": False, "error": type(exc).__name__}
    finally:
        connections.close_all()  # this thread's; a probe every few seconds keeps none open
    report["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return report


def _log_changes(checks: dict[str, Report]) -> None:
    for name, report in checks.items():
        failing = not report["ok"]
        if failing == _failing.get(name, False):
            continue
        _failing[name] = failing
        if failing:
            why = report.get("error") or "too far behind"
            logger.warning("readiness: %s check failing (%s)", name, why)
        else:
            logger.info("readiness: %s check passing again", name)


async def readiness() -> tuple[bool, Report]:
    """Run every check at once; (ready, the answer's body)."""
    loop = asyncio.get_running_loop()
    futures = {name: loop.run_in_executor(_executor, _run, check) for name, check in CHECKS.items()}
    await asyncio.wait(futures.values(), timeout=CHECK_TIMEOUT_S + 0.5)
    checks: dict[str, Report] = {}
    for name, future in futures.items():
        if future.done():
            checks[name] = future.result()
        else:
            future.cancel()
            checks[name] = {"ok": False, "error": "timeout"}
    _log_changes(checks)
    ready = all(report["ok"] for report in checks.values())
    return ready, {"status": "ready" if ready else "not ready", "checks": checks}
