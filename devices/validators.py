"""Field validators shared by models and services."""

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    """Accept only a real IANA timezone name such as ``Europe/Berlin``."""
    if value not in _timezones():
        raise ValidationError("%(value)s is not an IANA timezone.", params={"value": value})


def validate_positive(value: float) -> None:
    if value is None or not value > 0:
        raise ValidationError("Must be greater than zero.", code="not_positive")


def validate_fraction(value: float) -> None:
    """A fraction in [0, 1]."""
    if value is None or not 0 <= value <= 1:
        raise ValidationError("Must be between 0 and 1.", code="out_of_range")


def validate_efficiency(value: float) -> None:
    """An efficiency in (0, 1]."""
    if value is None or not 0 < value <= 1:
        raise ValidationError("Must be greater than 0 and at most 1.", code="out_of_range")
