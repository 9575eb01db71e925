"""Browsers keep the refresh token in an httpOnly, SameSite=Strict cookie the API sets; other
clients keep using the body field. Over a real server, with a real cookie jar."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.test import override_settings

from tests.accounts.factories import UserFactory
from tests.asgi_client import Client
from tests.web_process import procfile_web

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
LOGIN = (
    "mutation($u: String!, $p: String!) "
    "{ loginUser(username: $u, password: $p) { accessToken refreshToken } }"
)
REFRESH = "mutation($t: String) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
LOGOUT = "mutation($t: String) { logout(refreshToken: $t) }"
ME = "{ me { username } }"


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """A client with a cookie jar, as a browser is, against the web process (over plain HTTP,
    so the cookie is not marked Secure here)."""
    UserFactory(username="browser-user", password=PASSWORD)
    with procfile_web(REFRESH_COOKIE_SECURE="false") as base, httpx.Client(base_url=base) as c:
        yield c


def _call(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql/", json={"query": query, "variables": variables})
    assert response.status_code == 200
    return dict(response.json())


def _login(client: httpx.Client) -> tuple[dict[str, Any], httpx.Response]:
    response = client.post(
        "/graphql/", json={"query": LOGIN, "variables": {"u": "browser-user", "p": PASSWORD}}
    )
    assert response.json()["data"] is not None, response.text
    return response.json()["data"]["loginUser"], response


def test_login_sets_an_httponly_strict_cookie_for_the_api_path_only(
    browser: httpx.Client,
) -> None:
    pair, response = _login(browser)

    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"gridtwin_refresh={pair['refreshToken']};")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "SameSite=Strict" in cookie and "Path=/graphql;" in cookie + ";"
    assert "secure" not in attributes  # asked for by this server's settings


def test_refresh_without_an_argument_uses_and_replaces_the_cookie(browser: httpx.Client) -> None:
    first, _ = _login(browser)

    second = _call(browser, REFRESH)["data"]["refreshToken"]

    assert second["refreshToken"] != first["refreshToken"]
    assert browser.cookies["gridtwin_refresh"] == second["refreshToken"]
    third = _call(browser, REFRESH)["data"]["refreshToken"]  # the new cookie works in turn
    assert third["refreshToken"] not in (first["refreshToken"], second["refreshToken"])


def test_logout_without_an_argument_revokes_the_cookies_session_and_clears_it(
    browser: httpx.Client,
) -> None:
    first, _ = _login(browser)

    assert _call(browser, LOGOUT)["data"]["logout"] is True

    assert "gridtwin_refresh" not in browser.cookies
    # the session is gone, not only the cookie: its token no longer refreshes
    reused = _call(browser, REFRESH, t=first["refreshToken"])
    assert reused["errors"][0]["extensions"]["code"] == "INVALID_REFRESH_TOKEN"


def test_refresh_with_neither_argument_nor_cookie_says_what_to_send(browser: httpx.Client) -> None:
    answer = _call(browser, REFRESH)

    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "INVALID_REFRESH_TOKEN"
    assert "send refreshToken" in answer["errors"][0]["message"]


def test_a_retired_cookie_is_refused_and_cleared(browser: httpx.Client) -> None:
    first, _ = _login(browser)
    with httpx.Client(base_url=browser.base_url) as script:  # another client rotates it away
        _call(script, REFRESH, t=first["refreshToken"])
    assert browser.cookies["gridtwin_refresh"] == first["refreshToken"]

    answer = _call(browser, REFRESH)

    assert answer["errors"][0]["extensions"]["code"] == "INVALID_REFRESH_TOKEN"
    assert "gridtwin_refresh" not in browser.cookies


@override_settings(REFRESH_COOKIE_SECURE=True)
def test_the_cookie_is_https_only_unless_configured_otherwise() -> None:
    UserFactory(username="browser-user", password=PASSWORD)
    response = Client().post(
        "/graphql/",
        {"query": LOGIN, "variables": {"u": "browser-user", "p": PASSWORD}},
        content_type="application/json",
    )

    assert "Secure" in response.cookies["gridtwin_refresh"].output()
