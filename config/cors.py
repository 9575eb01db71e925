"""Cross-origin access to ``/graphql/`` for single-page apps served from other origins.

Same-origin only unless ``CORS_ALLOWED_ORIGINS`` lists an origin. The same list lets pages on
those origins open the GraphQL WebSocket (:mod:`graphql_api.websocket`). Credentials are
allowed for listed origins so that a browser sends the refresh-token cookie with
``credentials: "include"``; the cookie itself is ``SameSite=Strict``.
"""

from collections.abc import Awaitable, Callable
from typing import cast
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp
from strawberry.http.websocket_origin import normalize_origin

ALLOWED_HEADERS = ("authorization", "content-type", "x-request-id")
EXPOSED_HEADERS = ("x-request-id", "retry-after")
PREFLIGHT_MAX_AGE_S = 600


def allowed_origins() -> tuple[str, ...]:
    """``CORS_ALLOWED_ORIGINS`` in the form browsers send in ``Origin`` (lowercase, no default
    port); anything that is not an origin (a path, a query, credentials) stops the start."""
    origins = []
    for origin in settings.CORS_ALLOWED_ORIGINS:
        parts = urlsplit(origin)
        normalized = normalize_origin(origin)
        if (
            normalized is None
            or parts.scheme not in ("http", "https")
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise ImproperlyConfigured(
                f"CORS_ALLOWED_ORIGINS: {origin!r} is not an origin such as https://app.example.com"
            )
        origins.append(normalized)
    return tuple(origins)


def cross_origin(app: Callable[..., Awaitable[None]]) -> ASGIApp:
    """``app`` (any ASGI app: Django's handler types its scope differently) answering CORS
    preflights and adding CORS headers for the allowed origins."""
    return CORSMiddleware(
        cast(ASGIApp, app),
        allow_origins=allowed_origins(),
        allow_methods=("POST",),
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=True,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_MAX_AGE_S,
    )
