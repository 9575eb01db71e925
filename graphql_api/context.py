"""The per-request context: who is calling, and the request's dataloaders."""

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info

from accounts.access import user_may_call
from accounts.tokens import AccessClaims, InvalidToken
from graphql_api.errors import Unauthenticated

#: The refresh cookie's name (set and cleared in graphql_api/accounts/cookies.py).
REFRESH_COOKIE = "gridtwin_refresh"


@dataclass
class Context:
    request: Any
    response: Any
    claims: AccessClaims | None = None
    auth_error: str | None = None
    loaders: dict[str, Any] = field(default_factory=dict)
    connection_params: dict[str, Any] | None = None
    client_ip: str = "unknown"
    #: The refresh token a browser sent in its cookie (graphql_api/accounts/cookies.py).
    refresh_cookie: str | None = None


async def active_claims(claims: AccessClaims) -> AccessClaims:
    """``claims`` if their user still exists and is active, else :class:`InvalidToken`.

    A signed token outlives a deactivation or a deletion by up to its lifetime; this is the
    check that refuses it for every operation, on every transport.
    """
    if not await user_may_call(user_id=claims.user_id):
        raise InvalidToken()
    return claims


def authentication_error(context: Context) -> Unauthenticated:
    """The ``UNAUTHENTICATED`` error for a caller without a valid token (why it was refused)."""
    return Unauthenticated(context.auth_error or "Authentication required.")


def current_user_id(info: Info) -> int:
    """The caller's user id, or an ``UNAUTHENTICATED`` error.

    Who may call a field is declared on the field (:mod:`graphql_api.permissions`); this only
    reads the id, and refuses the same way should it ever run unguarded.
    """
    context: Context = info.context
    if context.claims is None:
        raise authentication_error(context)
    return context.claims.user_id
