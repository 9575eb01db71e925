"""A single-page app served from another origin, in Chromium: listed in
``CORS_ALLOWED_ORIGINS`` it signs in over HTTP and subscribes over the WebSocket; from an
unlisted origin the browser itself stops both (no CORS headers, handshake refused)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from config.local_servers import free_port
from tests.accounts.factories import UserFactory
from tests.web.conftest import PASSWORD
from tests.web_process import procfile_web

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The app's whole script: sign in with fetch, subscribe with a graphql-transport-ws socket, and
# leave what happened in window.__outcome.
SPA_PAGE = """<!doctype html><meta charset="utf-8"><title>SPA</title><script>
window.__outcome = (async () => {
  const api = new URLSearchParams(location.search).get("api");
  let token;
  try {
    const answer = await fetch(api + "/graphql/", {
      method: "POST", credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: "mutation($u: String!, $p: String!) { loginUser(username: $u, password: $p) "
          + "{ accessToken } }",
        variables: { u: "spa-user", p: "PASSWORD" },
      }),
    });
    token = (await answer.json()).data.loginUser.accessToken;
  } catch (error) {
    return { login: "refused: " + error.name };
  }
  const socket = new WebSocket(api.replace("http", "ws") + "/graphql/", "graphql-transport-ws");
  const first = await new Promise((resolve) => {
    socket.onopen = () => socket.send(JSON.stringify({
      type: "connection_init", payload: { Authorization: "Bearer " + token } }));
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "1", type: "subscribe",
          payload: { query: "subscription { energyStats { homeId netGridFlowW } }" } }));
      } else if (message.type === "next") {
        resolve(message.payload);
      }
    };
    socket.onclose = (event) => resolve("closed " + event.code);
  });
  socket.close();
  return { login: "ok", subscription: first };
})();
</script>"""


@contextmanager
def spa_origin(directory: Path) -> Iterator[str]:
    """A static file server on its own port: a separate origin for the browser."""
    (directory / "index.html").write_text(SPA_PAGE.replace("PASSWORD", PASSWORD))
    handler = partial(SimpleHTTPRequestHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def origins(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A listed and an unlisted origin, both serving the app."""
    (tmp_path / "listed").mkdir()
    (tmp_path / "unlisted").mkdir()
    with spa_origin(tmp_path / "listed") as listed, spa_origin(tmp_path / "unlisted") as unlisted:
        yield listed, unlisted


@pytest.fixture
def api(origins: tuple[str, str]) -> Iterator[str]:
    UserFactory(username="spa-user")
    listed, _ = origins
    with procfile_web(CORS_ALLOWED_ORIGINS=listed) as base:
        yield base


def _outcome(page: Page, origin: str, api: str) -> Any:
    page.goto(f"{origin}/index.html?api={api}")
    return page.evaluate("() => window.__outcome")


def test_a_listed_origin_signs_in_and_subscribes(
    page: Page, origins: tuple[str, str], api: str
) -> None:
    listed, _ = origins

    outcome = _outcome(page, listed, api)

    assert outcome == {
        "login": "ok",
        "subscription": {"data": {"energyStats": {"homeId": None, "netGridFlowW": None}}},
    }


def test_an_unlisted_origin_is_stopped_by_the_browser(
    page: Page, origins: tuple[str, str], api: str
) -> None:
    _, unlisted = origins

    outcome = _outcome(page, unlisted, api)

    # the answer had no Access-Control-Allow-Origin: the browser hid it from the page
    assert outcome == {"login": "refused: TypeError"}
    # and the socket, opened by hand from that origin, is refused at the handshake
    closed = page.evaluate(
        """(api) => new Promise((resolve) => {
            const socket = new WebSocket(api.replace("http", "ws") + "/graphql/",
                                         "graphql-transport-ws");
            socket.onopen = () => resolve("open");
            socket.onclose = (event) => resolve("closed " + event.code);
        })""",
        api,
    )
    assert closed == "closed 1006"
