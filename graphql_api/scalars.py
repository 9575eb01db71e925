"""Scalars whose parsing differs from Strawberry's defaults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

OFFSET_NEEDED = "Give the instant with its UTC offset, e.g. 2026-11-23T13:00:00Z."


def instant_parse(value: object) -> dt.datetime:
    """An aware datetime from an ISO 8601 string; a client error for anything else.

    An instant without an offset names no moment (the domain compares aware UTC datetimes only),
    so it is refused like any other unreadable value instead of failing deep in a resolver.
    """
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". Expected a string.'
        )
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". {exc}'
        ) from None
    if parsed.utcoffset() is None:
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". {OFFSET_NEEDED}'
        )
    return parsed


DATETIME = ScalarDefinition(
    name="DateTime",
    description="Date with time (ISO 8601) and a UTC offset, e.g. 2026-11-23T13:00:00Z",
    specified_by_url=None,
    serialize=dt.datetime.isoformat,
    parse_value=instant_parse,
    parse_literal=None,
    origin=dt.datetime,
)

#: For ``StrawberryConfig(scalar_map=...)``.
SCALAR_MAP: Mapping[object, ScalarDefinition] = {dt.datetime: DATETIME}
