"""The plumbing the ASGI endpoints ahead of Django share: headers in, a bounded body, plain answers.

``/graphql/`` over HTTP (:mod:`graphql_api.http`) and ``POST /api/v1/telemetry``
(:mod:`devices.ingest.asgi`) skip Django's request handler; both read a request the same way
here. It imports nothing of ours and no Django, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import Receive, Scope

__all__ = ["BodyTooLarge", "answer_headers", "declared_length", "read_body", "request_headers"]


class BodyTooLarge(Exception):
    """The body passed the endpoint's limit (declared or as read)."""


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lowercase name (a repeated header: the last one)."""
    return {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
    }


def declared_length(headers: Mapping[str, str]) -> int:
    """The ``Content-Length`` the client declared, 0 when absent or not a number."""
    try:
        return int(headers.get("content-length") or 0)
    except ValueError:
        return 0


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, or :class:`BodyTooLarge` as soon as more than ``limit`` bytes arrived.

    Callers refuse a too large :func:`declared_length` first, before reading anything."""
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
            raise BodyTooLarge
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def answer_headers(length: int) -> list[tuple[bytes, bytes]]:
    """The headers every API answer carries besides its type: length, no sniffing, never cached."""
    return [
        (b"content-length", str(length).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
    ]
