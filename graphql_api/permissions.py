"""Who may call a root field, declared on the field: ``permission_classes=[IsAuthenticated]``.

Every root Query, Mutation and Subscription field carries it, except the few that are how a
caller gets or gives up a token (register, loginUser, refreshToken, logout);
``tests/graphql_api/test_permissions.py`` holds that public list and fails on any other root
field without the guard.
"""

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from graphql_api.context import Context, authentication_error
from graphql_api.errors import Unauthenticated


class IsAuthenticated(BasePermission):
    """The caller presented a valid access token (HTTP header, or WebSocket ``connection_init``).

    A refusal is the API's one ``UNAUTHENTICATED`` error, saying why a token that was sent was
    refused ("Invalid or expired token.") or else "Authentication required.". That reason lives
    in the request's context, which ``on_unauthorized`` does not see, so the check raises it.

    ``has_permission`` is synchronous and returns a bool: strawberry runs it in place before a
    sync resolver and, through ``await_maybe``, before an async one (queries and subscriptions
    alike), so the guard makes no field async.
    """

    message = "Authentication required."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        context: Context = info.context
        if context.claims is None:
            raise authentication_error(context)
        return True

    def on_unauthorized(self) -> None:
        """The same error, should ``has_permission`` ever answer False instead of raising."""
        raise Unauthenticated(self.message)
