"""Errors a client may see. Everything else is masked to "Unexpected error."."""

from typing import Any

from graphql import GraphQLError


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


def should_mask_error(error: GraphQLError) -> bool:
    """Keep validation errors and PublicErrors; mask everything that escaped a resolver."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False  # parse, validation and variable-coercion errors speak of the request
    if isinstance(original, PublicError):
        error.extensions = {**(error.extensions or {}), **original.extensions}
        return False
    return True
