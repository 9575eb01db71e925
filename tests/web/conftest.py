"""Fixtures of the dashboard's browser tests: a real server (uvicorn serving the built
dashboard and the API), a real Celery worker and beat at a 2 s tick, and Chromium."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page

from tests.graphql_api.live_server import LiveServer, live_server
from tests.simulators.farm.stack import Stack
from tests.web.browser import DESKTOP, chromium

TICK_S = 2
PASSWORD = "correct horse battery staple"  # UserFactory's


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an asyncio loop on this thread, which Django's guard against
    # blocking calls inside a running loop takes for async code: lift the guard while it runs
    # (this thread only calls Django synchronously; the server runs on its own thread).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with chromium() as started:
            yield started
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    # Nothing leaves the machine: any request to another origin fails the test.
    outside: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()
    assert not outside, f"the dashboard requested other origins: {outside}"


@pytest.fixture
def ticking(settings: Any, tmp_path: Path) -> Iterator[Stack]:
    """A real worker and beat stepping the simulation every 2 s, and the hardware checks."""
    settings.TICK_SECONDS = TICK_S
    call_command("setup_schedule")
    call_command("setup_hardware_schedule")
    stack = Stack(tmp_path / "stack.log")
    try:
        stack.worker(concurrency=2)
        stack.beat(tmp_path)
        yield stack
    finally:
        stack.stop_all()
        if stack.log.exists():
            print(stack.log.read_text()[-4000:])


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with live_server() as started:
        yield started


@pytest.fixture
def signed_in(page: Page, server: LiveServer) -> Callable[[Any], Page]:
    """Open the dashboard and sign in as ``user`` (made by UserFactory) through the form."""

    def sign_in(user: Any) -> Page:
        page.goto(f"http://127.0.0.1:{server.port}/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_test_id("user").wait_for()
        return page

    return sign_in
