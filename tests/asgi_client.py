"""A test client that calls the web process's ASGI application in process, like Django's.

Requests go through ``config.asgi.application`` (request ids, metrics, routing, the GraphQL
app or Django), as uvicorn would send them, so tests of ``/graphql/`` exercise the path that
serves it. It is called from the test's thread with ``async_to_sync``: the ORM work of the
request runs in that same thread, inside the test's transaction, as with Django's client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import async_to_sync

HOST = "testserver"


class Response:
    def __init__(self, status_code: int, headers: list[tuple[bytes, bytes]], content: bytes):
        self.status_code = status_code
        self.content = content
        self.headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers
        }
        self.cookies: SimpleCookie = SimpleCookie()
        for name, value in headers:
            if name.lower() == b"set-cookie":
                self.cookies.load(value.decode("latin-1"))

    def json(self) -> Any:
        return json.loads(self.content)

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]


@contextmanager
def _in_test_transaction() -> Iterator[None]:
    from config.asgi import graphql_http_app

    previous = graphql_http_app.release_connections
    graphql_http_app.release_connections = False  # the test owns the connection and transaction
    try:
        yield
    finally:
        graphql_http_app.release_connections = previous


class Client:
    """``post`` and ``get`` as Django's test client has them (``REMOTE_ADDR`` as a default)."""

    def __init__(self, REMOTE_ADDR: str = "127.0.0.1") -> None:  # Django's name
        self.remote_addr = REMOTE_ADDR

    def post(
        self,
        path: str,
        data: Any = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if isinstance(data, bytes):
            body = data
        elif isinstance(data, str):
            body = data.encode()
        else:
            body = json.dumps(data if data is not None else {}).encode()
        return self.request("POST", path, body=body, content_type=content_type, headers=headers)

    def get(
        self,
        path: str,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return self.request("GET", path, query=urlencode(data or {}), headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        query: str = "",
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        raw: list[tuple[bytes, bytes]] = [(b"host", HOST.encode())]
        if content_type is not None:
            raw.append((b"content-type", content_type.encode()))
        raw.append((b"content-length", str(len(body)).encode()))
        for name, value in (headers or {}).items():
            raw.append((name.replace("_", "-").lower().encode(), value.encode("latin-1")))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw,
            "client": (self.remote_addr, 50000),
            "server": (HOST, 80),
        }
        with _in_test_transaction():
            return async_to_sync(_call)(scope, body)


async def _call(scope: dict[str, Any], body: bytes) -> Response:
    from config.asgi import application

    sent = False
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers") or [])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await application(scope, receive, send)
    return Response(status, headers, b"".join(chunks))
