"""/healthz and /readyz over a real uvicorn: what is checked, what a failure says, no secrets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from django.db import connections

from config.local_servers import free_port
from simulators.tasks import tick_run
from tests.devices.factories import BatteryFactory, HomeFactory
from tests.graphql_api.live_server import live_server

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "hunter2-do-not-show"


@pytest.fixture
def base_url() -> Iterator[str]:
    """A real uvicorn on this test's settings and database (settings changed before it starts
    and during the test both count: the checks read them at every probe)."""
    with live_server() as server:
        yield f"http://127.0.0.1:{server.port}"


def ready(base_url: str) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{base_url}/readyz", timeout=10)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, response.json()


def a_home() -> Any:
    home = HomeFactory(latitude=51.5, longitude=-0.12, timezone="Europe/London")
    BatteryFactory(home=home)
    return home


def test_healthz_answers_while_the_process_runs_whatever_its_dependencies(
    base_url: str, settings: Any
) -> None:
    settings.REDIS_STATE_URL = f"redis://127.0.0.1:{free_port()}/1"
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"

    response = httpx.get(f"{base_url}/healthz", headers={"Host": "10.1.2.3:8000"}, timeout=5)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert httpx.head(f"{base_url}/healthz", timeout=5).status_code == 200
    assert httpx.post(f"{base_url}/healthz", timeout=5).status_code == 405


def test_ready_when_every_dependency_answers_and_there_is_nothing_to_tick(base_url: str) -> None:
    status, body = ready(base_url)

    assert status == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "redis", "broker", "farm"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["farm"]["homes"] is False
    assert body["checks"]["farm"]["last_tick_at"] is None


def test_ready_when_the_last_tick_is_recent(base_url: str) -> None:
    a_home()
    assert tick_run() == "started"  # eager: the shards and finalize run here

    status, body = ready(base_url)

    assert status == 200, body
    farm = body["checks"]["farm"]
    assert farm["ok"] and farm["homes"]
    assert 0 <= farm["age_s"] <= farm["max_age_s"]


def test_not_ready_when_the_last_tick_is_too_old(base_url: str, settings: Any) -> None:
    a_home()
    old = datetime.now(UTC) - timedelta(seconds=10 * settings.TICK_SECONDS)
    assert tick_run(tick_at=old) == "started"

    status, body = ready(base_url)

    assert status == 503, body
    assert body["status"] == "not ready"
    farm = body["checks"]["farm"]
    assert farm["ok"] is False
    assert farm["age_s"] > farm["max_age_s"] == settings.READY_MAX_TICK_AGE_S
    assert farm["last_tick_at"] is not None
    assert all(body["checks"][name]["ok"] for name in ("database", "redis", "broker"))

    # once the farm catches up, the process is ready again
    assert tick_run() == "started"
    assert ready(base_url)[0] == 200


def test_not_ready_while_homes_exist_and_no_tick_was_ever_finalized(base_url: str) -> None:
    a_home()

    status, body = ready(base_url)

    assert status == 503
    assert body["checks"]["farm"] == {**body["checks"]["farm"], "ok": False, "age_s": None}


def test_not_ready_naming_redis_when_it_is_unreachable_and_no_secret_shows(
    base_url: str, settings: Any
) -> None:
    settings.REDIS_STATE_URL = f"redis://:{SECRET}@127.0.0.1:{free_port()}/1"

    status, body = ready(base_url)

    assert status == 503, body
    checks = body["checks"]
    assert checks["redis"] == {"ok": False, "error": "ConnectionError", "ms": checks["redis"]["ms"]}
    assert checks["farm"]["ok"] is False  # its tick record is in that Redis
    assert checks["database"]["ok"] and checks["broker"]["ok"]
    assert SECRET not in str(body) and "127.0.0.1" not in str(body)


def test_not_ready_naming_the_broker_when_it_is_unreachable(base_url: str, settings: Any) -> None:
    settings.CELERY_BROKER_URL = f"redis://:{SECRET}@127.0.0.1:{free_port()}/0"

    status, body = ready(base_url)

    assert status == 503, body
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["redis"]["ok"] and body["checks"]["database"]["ok"]
    assert SECRET not in str(body)


def test_not_ready_naming_the_database_when_it_is_unreachable(base_url: str) -> None:
    # New connections (the checks open one per probe) go to a closed port meanwhile.
    database = connections.settings["default"]
    kept = {"PORT": database["PORT"], "PASSWORD": database["PASSWORD"]}
    database.update(PORT=str(free_port()), PASSWORD=SECRET)
    try:
        status, body = ready(base_url)
    finally:
        database.update(kept)

    assert status == 503, body
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["redis"]["ok"] and body["checks"]["broker"]["ok"]
    assert SECRET not in str(body)
