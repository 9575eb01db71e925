"""``POST /api/v1/telemetry`` as a plain ASGI endpoint, ahead of Django's request handler.

The single-reading path is the hot one: a meter posts every few seconds. Django's handler added
a thread per request, sync hops for its request signals, URL resolution and the middleware to
the one thread hop the work itself needs. Here the request is read in the event loop (host,
method and size checked first, as before) and the whole ingest — the cached key check, the rate
limit, validation, the batched store and the live update — runs in one call on the ingest
thread pool (:func:`devices.ingest.http.telemetry_answer`), with the same answers. The command
endpoints, polled rarely, stay Django views.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.http import HttpResponse

from accounts.auth import host_allowed
from devices.ingest import http

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

PATH = "/api/v1/telemetry"


class _TooLarge(Exception):
    pass


async def _body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _send(send: Send, response: HttpResponse) -> None:
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
    ]
    headers += [
        (b"content-length", str(len(response.content)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


async def telemetry(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI app of :data:`PATH`."""
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
    }
    if not host_allowed(headers):
        await _send(send, HttpResponse(b"Bad Request", status=400, content_type="text/plain"))
        return
    if scope["method"] != "POST":
        await _send(send, http.method_not_allowed("POST"))
        return
    limit = settings.TELEMETRY_MAX_BODY_BYTES
    try:
        declared = int(headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > limit:
            raise _TooLarge
        raw = await _body(receive, limit)
    except _TooLarge:
        await _send(send, http.body_too_large())
        return
    await _send(send, await http.telemetry_answer(headers.get("x-api-key"), raw))
