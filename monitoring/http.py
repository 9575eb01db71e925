"""The web process's operating endpoints, and the wrapper that ids and times every request.

``/healthz``  200 while the process answers; checks nothing else (liveness).
``/readyz``   200 when PostgreSQL, Redis, the broker and the farm are fine, else 503; the JSON
              body names every check and what failed (:mod:`monitoring.health`).
``/metrics``  every process's metrics in the Prometheus text format (:mod:`monitoring.metrics`).

Plain ASGI, ahead of Django and the GraphQL stack: no middleware, no authentication and no
``ALLOWED_HOSTS`` (probes address the process by its own IP). Keep ``/metrics`` off the public
proxy; it names routes and operations.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from django.urls import Resolver404, resolve

from monitoring import health, logs, metrics

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
PATHS = frozenset({HEALTH_PATH, READY_PATH, METRICS_PATH})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"


async def _respond(
    send: Send, status: int, body: bytes, content_type: str, *, head: bool = False
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


async def endpoints(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one of :data:`PATHS`."""
    method = scope.get("method", "GET")
    head = method == "HEAD"
    if method not in ("GET", "HEAD"):
        await _respond(send, 405, _json({"error": "Use GET."}), "application/json")
        return
    path = scope["path"]
    if path == HEALTH_PATH:
        await _respond(send, 200, _json({"status": "ok"}), "application/json", head=head)
    elif path == READY_PATH:
        ready, body = await health.readiness()
        await _respond(send, 200 if ready else 503, _json(body), "application/json", head=head)
    else:
        text, content_type = await asyncio.to_thread(metrics.render)
        await _respond(send, 200, text, content_type, head=head)


@lru_cache(maxsize=2048)
def route_of(path: str) -> str:
    """The URL pattern serving ``path`` (``graphql/``, ``api/v1/commands/<str:command_id>/ack``,
    ``/metrics``…), or ``unmatched``: a closed set, whatever paths clients send."""
    if path in PATHS:
        return path
    try:
        return str(resolve(path).route) or UNMATCHED_ROUTE
    except Resolver404:
        return UNMATCHED_ROUTE
    except Exception:  # whatever a client sends, counting it must not fail the request
        return UNMATCHED_ROUTE


def instrumented(app: ASGIApp, *, routes: dict[str, str] | None = None) -> ASGIApp:
    """Wrap the ASGI app: every HTTP request and WebSocket connection gets a request id (in its
    log lines and, over HTTP, in the ``X-Request-ID`` answer header); HTTP requests are timed
    and counted by route, method and status. ``routes`` names the paths served ahead of
    Django's URLs (path -> route label)."""
    fixed = dict(routes or {})

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        offered = None
        for name, value in scope.get("headers") or ():
            if name.lower() == b"x-request-id":
                offered = value.decode("latin-1")
                break
        request_id = logs.request_id_for(offered)
        token = logs.request_id_set(request_id)
        if scope["type"] == "websocket":
            try:
                await app(scope, receive, send)
            finally:
                logs.request_id_reset(token)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (name, value)
                    for name, value in message.get("headers") or ()
                    if name.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            method = scope.get("method", "GET")
            metrics.http_observed(
                route=fixed.get(scope["path"]) or route_of(scope["path"]),
                method=method if method in METHODS else "other",
                status=status,
                seconds=time.perf_counter() - started,
            )
            logs.request_id_reset(token)

    return application
