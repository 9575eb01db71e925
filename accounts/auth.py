"""Who is calling: the bearer token of an HTTP request or a WebSocket ``connection_init``."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.tokens import AccessClaims, InvalidToken, access_token_decode


def bearer_token(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, or None."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def claims_from_request(request: HttpRequest) -> AccessClaims | None:
    """Claims of the request's bearer token; None without one; InvalidToken for a bad one."""
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        return None
    return access_token_decode(token)


def claims_from_connection_params(params: Mapping[str, Any] | None) -> AccessClaims:
    """Claims from a ``connection_init`` payload (``Authorization`` or ``authorization``)."""
    params = params or {}
    raw = params.get("Authorization", params.get("authorization"))
    token = bearer_token(raw if isinstance(raw, str) else None)
    if token is None:
        raise InvalidToken("Missing bearer token.")
    return access_token_decode(token)


def client_ip(request: HttpRequest) -> str:
    """The caller's address, from the header named by ``CLIENT_IP_HEADER``."""
    value = request.META.get(settings.CLIENT_IP_HEADER) or request.META.get("REMOTE_ADDR") or ""
    return str(value).split(",")[0].strip() or "unknown"
