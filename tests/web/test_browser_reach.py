"""What a browser on a machine with no internet sees of the playground and the admin: both
load from this server alone and work (a real web process, Chromium with every request to
another origin aborted by the ``page`` fixture, which fails the test if there was one)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Response, expect

from tests.accounts.factories import UserFactory
from tests.config.test_static import PLAYGROUND_ENV, collect_static
from tests.web.browser import screenshot
from tests.web.conftest import PASSWORD
from tests.web_process import procfile_web

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def failures(page: Page) -> list[str]:
    """Every answer of 400 or more, and every request that failed, while the test runs."""
    seen: list[str] = []

    def answered(response: Response) -> None:
        if response.status >= 400:
            seen.append(f"{response.status} {response.url}")

    page.on("response", answered)
    page.on("requestfailed", lambda request: seen.append(f"failed {request.url}"))
    return seen


@pytest.fixture
def playground(tmp_path: Path) -> Iterator[str]:
    """`make run`'s settings (DEBUG, GraphiQL on), static files from the source tree."""
    with procfile_web(**PLAYGROUND_ENV, STATIC_ROOT=str(tmp_path / "never-collected")) as base:
        yield base


def _type_into_editor(page: Page, document: str) -> None:
    """Replace the query editor's text as a user pasting it would."""
    page.locator(".graphiql-query-editor .CodeMirror").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(document)
    # GraphiQL parses the edit (which decides HTTP or WebSocket) before it reports it to the
    # page, which keeps it in the address for sharing: wait for that
    page.wait_for_function(
        "(document) => new URLSearchParams(location.search).get('q') === document", arg=document
    )


def test_graphiql_signs_in_queries_and_subscribes_with_nothing_from_outside(
    page: Page, playground: str, failures: list[str], settings: Any
) -> None:
    # (hashed as `make run`'s settings read passwords: the suite's own hasher is MD5, for speed)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user: Any = UserFactory(username="ada")
    # given the playground, opened as a browser opens it, once it has read the schema
    with page.expect_response(
        lambda answer: "IntrospectionQuery" in (answer.request.post_data or "")
    ) as introspection:
        page.goto(playground + "/graphql/")
    assert introspection.value.ok
    result = page.locator(".graphiql-response")

    # when the user signs in with a mutation typed into the editor
    _type_into_editor(
        page,
        f'mutation {{ loginUser(username: "{user.username}", password: "{PASSWORD}") '
        "{ accessToken } }",
    )
    page.locator(".graphiql-execute-button").click()

    # then the answer holds their access token
    expect(result).to_contain_text('"accessToken"')
    token = re.search(r'"accessToken":\s*"([^"]+)"', result.inner_text())[1]  # type: ignore[index]

    # and when they put it in the Headers pane and ask who they are, the server knows them
    page.get_by_role("button", name="Headers").click()
    page.locator(".graphiql-editor-tool .CodeMirror").last.click()
    page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {token}"}))
    _type_into_editor(page, "{ me { username } }")
    page.locator(".graphiql-execute-button").click()
    expect(result).to_contain_text(f'"username": "{user.username}"')

    # and a subscription goes over the WebSocket with the same header, its first value at once
    _type_into_editor(page, "subscription { energyStats { homeId netGridFlowW } }")
    page.locator(".graphiql-execute-button").click()
    expect(result).to_contain_text('"energyStats"')
    assert "USE_WEBSOCKET" not in result.inner_text()
    screenshot(page, "graphiql")

    # and nothing failed to load (the ``page`` fixture fails the test if another origin was
    # asked for anything)
    assert failures == []


def test_the_admin_is_styled_and_signs_a_superuser_in(
    page: Page, failures: list[str], tmp_path: Path
) -> None:
    # given production-like settings: static files collected at build, DEBUG off
    root = collect_static(tmp_path / "static")
    admin: Any = UserFactory(username="operator", is_staff=True, is_superuser=True)

    with procfile_web(STATIC_ROOT=str(root)) as base:
        # when the operator opens the admin and signs in
        page.goto(base + "/admin/")
        header = page.locator("#header")
        expect(header).to_be_visible()
        # then the page wears the admin's stylesheet (unstyled, the header has no background)
        background = header.evaluate("(element) => getComputedStyle(element).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "transparent")
        page.get_by_label("Username").fill(admin.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("link", name="Homes")).to_be_visible()
        screenshot(page, "admin")

    assert failures == []
