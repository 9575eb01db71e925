"""The one vocabulary of error codes of the domain: services raise ``ValidationError`` with one
of these codes, and the API maps errors by code (never by the message's text)."""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import ValidationError


class ErrorCode(StrEnum):
    NOT_FOUND = "not_found"  # missing and "not yours" alike
    INVALID = "invalid"
    UNKNOWN = "unknown"  # an unknown command or choice
    WRONG_KIND = "wrong_kind"  # the operation does not apply to this kind of device
    NOT_SETTABLE = "not_settable"
    NOT_POSITIVE = "not_positive"
    OUT_OF_RANGE = "out_of_range"
    NOT_FINITE = "not_finite"  # NaN or an infinity
    BLANK = "blank"  # a name of nothing but spaces
    CLOSED = "closed"  # a command that is no longer open


def field_error(field: str, message: str, *, code: str) -> ValidationError:
    """A ValidationError on one field that keeps its code (a dict of plain strings loses it)."""
    return ValidationError({field: ValidationError(message, code=code)})


def not_found(field: str, what: str) -> ValidationError:
    """The one error for "missing" and "not yours" alike."""
    return field_error(field, f"{what} not found.", code=ErrorCode.NOT_FOUND)


def first_error(exc: ValidationError) -> tuple[str | None, str, str | None]:
    """(field, message, code) of the first error a ValidationError holds."""
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.error_dict.items()))
        error = errors[0]
        return (None if field == "__all__" else field), " ".join(error.messages), error.code
    error = exc.error_list[0]
    return None, " ".join(error.messages), error.code
