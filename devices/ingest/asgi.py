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

from django.conf import settings
from django.http import HttpResponse
from starlette.types import Receive, Scope, Send

from accounts.auth import host_allowed
from asgi_io import BodyTooLarge, answer_headers, declared_length, read_body, request_headers
from devices.ingest import http

PATH = "/api/v1/telemetry"


async def _send(send: Send, response: HttpResponse) -> None:
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
    ]
    headers += answer_headers(len(response.content))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


async def telemetry(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI app of :data:`PATH`."""
    headers = request_headers(scope)
    if not host_allowed(headers):
        await _send(send, HttpResponse(b"Bad Request", status=400, content_type="text/plain"))
        return
    if scope["method"] != "POST":
        await _send(send, http.method_not_allowed("POST"))
        return
    limit = settings.TELEMETRY_MAX_BODY_BYTES
    try:
        if declared_length(headers) > limit:
            raise BodyTooLarge
        raw = await read_body(receive, limit)
    except BodyTooLarge:
        await _send(send, http.body_too_large())
        return
    await _send(send, await http.telemetry_answer(headers.get("x-api-key"), raw))
