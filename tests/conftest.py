"""Fixtures shared by the whole suite: users, an authenticated GraphQL client, real Redis,
the console log; and the guard that keeps the suite off servers that are not its own."""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from accounts.tokens import access_token_issue
from config.local_servers import mqtt_host_port
from tests.accounts.factories import UserFactory
from tests.asgi_client import Client
from tests.with_servers import PREPARED_ENV, PREPARED_SETTINGS

# Fixtures shared across packages: `listener` (a device's view of its command topic).
pytest_plugins = ["tests.command_listener"]

NOT_PREPARED = (
    "The test suite flushes Redis databases and purges Celery queues, so it runs only against "
    "the servers and databases its launcher prepares for it: run `make test`, or "
    "`python -m tests.with_servers -- pytest [args]`."
)


def servers_refusal(environ: dict[str, str], current: dict[str, str]) -> str | None:
    """Why the suite must not run here (``None``: the launcher prepared these settings)."""
    raw = environ.get(PREPARED_ENV)
    if not raw:
        return NOT_PREPARED
    prepared = json.loads(raw)
    for name in PREPARED_SETTINGS:
        if current.get(name) != prepared.get(name):
            return (
                f"{name} is {current.get(name)!r}, not the {prepared.get(name)!r} the test "
                f"launcher prepared. {NOT_PREPARED}"
            )
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    refusal = servers_refusal(
        dict(os.environ), {name: str(getattr(settings, name)) for name in PREPARED_SETTINGS}
    )
    if refusal is not None:
        pytest.exit(refusal, returncode=4)


@pytest.fixture(autouse=True)
def _clean_redis(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each database test starts with an empty live-state database in the real Redis.

    Pure unit tests (physics, firmware) need no server and are left alone.
    """
    if request.node.get_closest_marker("django_db") or "redis_state" in request.fixturenames:
        redis.Redis.from_url(settings.REDIS_STATE_URL).flushdb()
        cache.clear()
    yield


class GraphQLClient:
    """Posts GraphQL documents to /graphql/ through the web process's ASGI application."""

    def __init__(self, client: Client, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def __call__(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> dict[str, Any]:
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = self.client.post(
            "/graphql/",
            {"query": query, "variables": variables or {}},
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 200, response.content
        result: dict[str, Any] = response.json()
        return result


def token_for(user: Any) -> str:
    token, _ = access_token_issue(user_id=user.pk)
    return token


@pytest.fixture
def user(db: None) -> Any:
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db: None) -> Any:
    return UserFactory(username="mallory")


@pytest.fixture
def anon() -> GraphQLClient:
    return GraphQLClient(Client())


@pytest.fixture
def gql(user: Any) -> GraphQLClient:
    return GraphQLClient(Client(), token_for(user))


@pytest.fixture
def other_gql(other_user: Any) -> GraphQLClient:
    return GraphQLClient(Client(), token_for(other_user))


@pytest.fixture
def console_log() -> Iterator[io.StringIO]:
    """What the configured console handler (``settings.LOGGING``) writes during the test."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


@pytest.fixture
def publisher() -> Iterator[mqtt.Client]:
    """An MQTT client publishing to the real broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.connect(*mqtt_host_port(settings.MQTT_URL))
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()
