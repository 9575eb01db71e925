"""Errors a client may see. Everything else is masked to "Unexpected error."."""

import re
from typing import Any

from graphql import GraphQLError

#: graphql-core appends its hints (" Did you mean 'Battery'?") at the end of a message.
_SUGGESTION = re.compile(r"\s*Did you mean\b.*\Z", re.DOTALL)


class PublicError(Exception):
    """An error whose message and code are safe to show; ``code`` goes to ``extensions``."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.extensions = {"code": self.code, **extensions}


class Unauthenticated(PublicError):
    code = "UNAUTHENTICATED"


def is_unexpected(error: GraphQLError) -> bool:
    """Whether ``error`` escaped a resolver (a fault of ours), not a client's request."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False  # parse, validation and variable-coercion errors speak of the request
    return not isinstance(original, PublicError)


def should_mask_error(error: GraphQLError) -> bool:
    """Keep validation errors and PublicErrors; mask everything that escaped a resolver."""
    if isinstance(error.original_error, PublicError):
        error.extensions = {**(error.extensions or {}), **error.original_error.extensions}
    return is_unexpected(error)


def suggestions_removed(error: GraphQLError) -> None:
    """Drop "Did you mean …" from ``error``'s message: it names types, fields and values."""
    error.message = _SUGGESTION.sub("", error.message)
