"""A single-page app on a listed origin can log in and subscribe from a browser; a page on any
other origin cannot (no CORS headers, WebSocket handshake refused); same-origin only by default."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
import websockets
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from websockets.typing import Origin, Subprotocol

from config.cors import allowed_origins
from tests.accounts.factories import UserFactory
from tests.web_process import procfile_web

pytestmark = pytest.mark.django_db(transaction=True)

SPA = "http://spa.example:5173"
OTHER = "http://evil.example"
PASSWORD = "correct horse battery staple"
LOGIN = (
    "mutation($u: String!, $p: String!) { loginUser(username: $u, password: $p) { accessToken } }"
)
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
def server() -> Iterator[str]:
    UserFactory(username="spa-user", password=PASSWORD)
    with procfile_web(CORS_ALLOWED_ORIGINS=f"{SPA},https://Other.Example:443") as base:
        yield base


def _login(base: str, origin: str) -> httpx.Response:
    return httpx.post(
        base + "/graphql/",
        json={"query": LOGIN, "variables": {"u": "spa-user", "p": PASSWORD}},
        headers={"Origin": origin},
    )


def test_a_listed_origin_passes_the_preflight_and_reads_the_answer(server: str) -> None:
    preflight = httpx.options(server + "/graphql/", headers={"Origin": SPA, **PREFLIGHT})
    login = _login(server, SPA)

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == SPA
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert login.headers["access-control-allow-origin"] == SPA
    assert login.json()["data"]["loginUser"]["accessToken"]


def test_an_unlisted_origin_gets_no_cors_headers(server: str) -> None:
    preflight = httpx.options(server + "/graphql/", headers={"Origin": OTHER, **PREFLIGHT})
    login = _login(server, OTHER)

    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in login.headers


def test_origins_are_compared_as_browsers_send_them(server: str) -> None:
    preflight = httpx.options(
        server + "/graphql/", headers={"Origin": "https://other.example", **PREFLIGHT}
    )

    assert preflight.headers["access-control-allow-origin"] == "https://other.example"


def test_same_origin_only_by_default() -> None:
    UserFactory(username="spa-user", password=PASSWORD)
    with procfile_web(CORS_ALLOWED_ORIGINS="") as base:
        preflight = httpx.options(base + "/graphql/", headers={"Origin": SPA, **PREFLIGHT})
        login = _login(base, SPA)
        refused = asyncio.run(_subscribe(base, SPA, token="unused"))

    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in login.headers
    assert refused == 403


def test_the_websocket_accepts_a_listed_origin_and_refuses_others(server: str) -> None:
    token = _login(server, SPA).json()["data"]["loginUser"]["accessToken"]

    assert asyncio.run(_subscribe(server, SPA, token)) == "connection_ack"
    assert asyncio.run(_subscribe(server, OTHER, token)) == 403


def test_a_setting_that_is_not_an_origin_stops_the_start() -> None:
    for value in [
        "spa.example",
        "http://spa.example/app",
        "ftp://spa.example",
        "http://u@x.example",
    ]:
        with override_settings(CORS_ALLOWED_ORIGINS=[value]), pytest.raises(ImproperlyConfigured):
            allowed_origins()


async def _subscribe(base: str, origin: str, token: str) -> str | int:
    """The handshake from a page on ``origin``: ``connection_ack``, or the refusal's status."""
    url = base.replace("http://", "ws://") + "/graphql/"
    try:
        async with websockets.connect(
            url, origin=Origin(origin), subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as socket:
            await socket.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                )
            )
            return str(json.loads(await asyncio.wait_for(socket.recv(), 10))["type"])
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
