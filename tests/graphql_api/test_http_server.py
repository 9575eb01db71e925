"""The API end to end over a real uvicorn server: login, create, read, refresh, isolation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from config.local_servers import free_port, port_open
from tests.accounts.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def server_url(transactional_db: None) -> Iterator[str]:
    """uvicorn serving config.asgi on the test database (data must be committed to be seen)."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not port_open("127.0.0.1", port, 0.2):
        assert process.poll() is None, "uvicorn exited"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def call(client: httpx.Client, query: str, token: str | None = None, **variables: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(
        "/graphql/", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200
    return response.json()


def test_full_flow_over_http(server_url: str) -> None:
    UserFactory(username="alice", password=PASSWORD)
    UserFactory(username="mallory", password=PASSWORD)
    login = """mutation($u: String!, $p: String!) {
      loginUser(username: $u, password: $p) { accessToken refreshToken } }"""
    with httpx.Client(base_url=server_url, timeout=10) as client:
        alice = call(client, login, u="alice", p=PASSWORD)["data"]["loginUser"]
        mallory = call(client, login, u="mallory", p=PASSWORD)["data"]["loginUser"]["accessToken"]
        home = call(
            client,
            """mutation { createHome(input: {name: "Flat", latitude: 48.1, longitude: 11.6,
               timezone: "Europe/Berlin"}) { ... on Home { id } } }""",
            alice["accessToken"],
        )["data"]["createHome"]
        battery = call(
            client,
            """mutation($h: ID!) { createBattery(input: {homeId: $h, name: "B", capacityWh: 5000,
               maxChargeW: 2500, maxDischargeW: 2500}) { ... on Battery { id capacityWh } } }""",
            alice["accessToken"],
            h=home["id"],
        )["data"]["createBattery"]
        assert battery["capacityWh"] == 5000.0
        read = call(client, "query($id: ID!) { device(id: $id) { __typename name } }",
                    alice["accessToken"], id=battery["id"])  # fmt: skip
        assert read["data"]["device"] == {"__typename": "Battery", "name": "B"}
        stolen = call(client, "query($id: ID!) { device(id: $id) { name } }", mallory,
                      id=battery["id"])  # fmt: skip
        assert stolen["data"]["device"] is None
        refreshed = call(
            client,
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            t=alice["refreshToken"],
        )
        assert call(
            client, "{ me { username } }", refreshed["data"]["refreshToken"]["accessToken"]
        )["data"] == {"me": {"username": "alice"}}
        # The server answers garbage with a clear error and keeps serving.
        bad = client.post(
            "/graphql/", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert bad.status_code == 400
        assert call(client, "{ me { username } }", mallory)["data"]["me"]["username"] == "mallory"


def test_api_paths_run_lean_but_still_guarded(server_url: str) -> None:
    """/graphql/ and /api/ skip Django's sync middleware yet enforce ALLOWED_HOSTS."""
    with httpx.Client(base_url=server_url, timeout=10) as client:
        ok = client.post("/graphql/", json={"query": "{ me { id } }"})
        assert ok.status_code == 200
        assert ok.headers["x-content-type-options"] == "nosniff"
        assert ok.headers["cache-control"] == "no-store"
        assert int(ok.headers["content-length"]) == len(ok.content)  # not chunked
        assert "sessionid" not in ok.headers.get("set-cookie", "")
        evil = client.post(
            "/graphql/", json={"query": "{ me { id } }"}, headers={"Host": "evil.example"}
        )
        assert evil.status_code == 400
        ingest = client.post("/api/v1/telemetry", json={}, headers={"Host": "evil.example"})
        assert ingest.status_code == 400
        # The admin keeps the full stack (sessions, CSRF, clickjacking protection).
        admin = client.get("/admin/login/")
        assert admin.status_code == 200
        assert admin.headers["x-frame-options"] == "DENY"
        assert "csrftoken" in admin.headers.get("set-cookie", "")
