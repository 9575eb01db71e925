"""Who is calling: the bearer token of an HTTP request or a WebSocket ``connection_init``."""

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from accounts.tokens import AccessClaims, InvalidToken, access_token_verify


def bearer_token(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, or None."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def claims_from_authorization(value: str | None) -> AccessClaims | None:
    """Claims of an ``Authorization`` header's bearer token; None without one; InvalidToken for
    a bad one."""
    token = bearer_token(value)
    if token is None:
        return None
    return access_token_verify(token)


def claims_from_connection_params(params: Mapping[str, Any] | None) -> AccessClaims:
    """Claims from a ``connection_init`` payload (``Authorization`` or ``authorization``)."""
    params = params or {}
    raw = params.get("Authorization", params.get("authorization"))
    token = bearer_token(raw if isinstance(raw, str) else None)
    if token is None:
        raise InvalidToken("Missing bearer token.")
    return access_token_verify(token)


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[bool, tuple[IPNetwork, ...], frozenset[str]]:
    """``FORWARDED_ALLOW_IPS`` as uvicorn reads it: ``*``, addresses, networks, literals."""
    networks: list[IPNetwork] = []
    literals: set[str] = set()
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            literals.add(entry)  # e.g. a unix socket path
    return "*" in literals, tuple(networks), frozenset(literals)


def _is_trusted_proxy(hop: str, entries: Iterable[str]) -> bool:
    everyone, networks, literals = _trusted(tuple(entries))
    if everyone:
        return True
    try:
        address = ipaddress.ip_address(hop)
    except ValueError:
        return hop in literals
    return any(address in network for network in networks)


def client_address(*, peer: str | None, forwarded: str | None) -> str:
    """The caller's address: the right-most hop that is not a trusted proxy.

    ``peer`` is the connection's address, ``forwarded`` a header's comma-separated hops (each
    proxy appends the address it was called from). Walking from the peer leftwards, every
    trusted proxy (``FORWARDED_ALLOW_IPS``, none by default) is skipped; the first hop that is
    not one is the client, so a client cannot choose its address by sending the header itself.
    When every hop is trusted, the left-most is the client (it was a proxy calling directly).
    """
    hops = [hop.strip() for hop in (forwarded or "").split(",") if hop.strip()]
    hops.append((peer or "").strip())
    for hop in reversed(hops):
        if not _is_trusted_proxy(hop, settings.FORWARDED_ALLOW_IPS):
            return hop or "unknown"
    return hops[0] or "unknown"


def client_ip_from_headers(*, peer: str | None, headers: Mapping[str, str]) -> str:
    """The caller's address (HTTP and WebSocket): the connection's peer and its (lowercase)
    headers, of which ``CLIENT_IP_HEADER`` (a ``HTTP_*`` name) when it is set."""
    header = settings.CLIENT_IP_HEADER
    forwarded = None
    if header.startswith("HTTP_"):
        forwarded = headers.get(header.removeprefix("HTTP_").lower().replace("_", "-"))
    return client_address(peer=peer, forwarded=forwarded)


@lru_cache(maxsize=8)
def _allowed_hosts(configured: tuple[str, ...], debug: bool) -> list[str]:
    if debug and not configured:  # what Django allows in development
        return [".localhost", "127.0.0.1", "[::1]"]
    return list(configured)


def host_allowed(headers: Mapping[str, str]) -> bool:
    """Django's ``ALLOWED_HOSTS`` rule for a request's (lowercase) ``host`` header, for the
    endpoints served ahead of Django's handler."""
    domain, _port = split_domain_port(headers.get("host", ""))
    allowed = _allowed_hosts(tuple(settings.ALLOWED_HOSTS), bool(settings.DEBUG))
    return bool(domain) and validate_host(domain, allowed)
