"""Field validators shared by models and services.

Every number a client sets is finite and inside a physical range: what is stored is summed over
homes and users and stepped every tick, and must stay finite when it is (a parameter of 1e308
overflows the farm). Limits are generous for a home; a small business fits.
"""

import importlib.resources
import math
import unicodedata
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.deconstruct import deconstructible

MAX_POWER_W = 1_000_000.0  # 1 MW: a rated power, a charge rate, a home's base load
MAX_ENERGY_WH = 10_000_000.0  # 10 MWh: a battery's or a vehicle's capacity
MAX_AREA_M2 = 10_000.0  # one hectare of panels
MAX_VOLTAGE_V = 500.0  # the highest voltage a meter reports


def _plain(bound: float) -> str:
    """A bound as people write it: 1000000, not 1e+06."""
    return f"{bound:.0f}" if bound == int(bound) else f"{bound:g}"


@deconstructible
class Between:
    """A finite number from ``low`` (exclusive with ``low_open``) to ``high``, inclusive.

    Django's Min/MaxValueValidator let NaN through (every comparison with NaN is false); this
    one asks ``low <= value <= high``, which NaN and the infinities fail. ``condition(field)``
    is the same rule for a CheckConstraint (PostgreSQL orders NaN above every number).
    """

    def __init__(self, low: float, high: float, *, low_open: bool = False, unit: str = "") -> None:
        self.low = low
        self.high = high
        self.low_open = low_open
        self.unit = unit

    def __call__(self, value: Any) -> None:
        if value is None:
            return
        if not math.isfinite(value):
            raise ValidationError("Must be a finite number.", code="not_finite")
        inside = (self.low < value if self.low_open else self.low <= value) and value <= self.high
        if not inside:
            unit = f" {self.unit}" if self.unit else ""
            low, high = _plain(self.low), _plain(self.high)
            message = (
                f"Must be greater than {low} and at most {high}{unit}."
                if self.low_open
                else f"Must be between {low} and {high}{unit}."
            )
            raise ValidationError(message, code="out_of_range")

    def condition(self, field: str) -> Q:
        low = {f"{field}__gt" if self.low_open else f"{field}__gte": self.low}
        return Q(**low, **{f"{field}__lte": self.high})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Between) and (
            self.low,
            self.high,
            self.low_open,
            self.unit,
        ) == (other.low, other.high, other.low_open, other.unit)

    def __hash__(self) -> int:
        return hash((self.low, self.high, self.low_open, self.unit))


POWER_W = Between(0.0, MAX_POWER_W, low_open=True, unit="W")
POWER_OR_ZERO_W = Between(0.0, MAX_POWER_W, unit="W")
ENERGY_WH = Between(0.0, MAX_ENERGY_WH, low_open=True, unit="Wh")
AREA_M2 = Between(0.0, MAX_AREA_M2, low_open=True, unit="m²")
VOLTAGE_V = Between(0.0, MAX_VOLTAGE_V, unit="V")


def validate_name(value: str) -> None:
    """A name people can read: not blank, no control characters, no lone surrogates (text that
    is not Unicode and that PostgreSQL cannot store)."""
    if not value.strip():
        raise ValidationError("Must not be blank.", code="blank")
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            raise ValidationError("Must be valid Unicode text.", code="invalid")
        if category == "Cc":
            raise ValidationError("Must not contain control characters.", code="invalid")


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    # The zones of the pinned IANA database (the tzdata package), the same on every machine;
    # not the machine's own extras ("localtime" follows the host) nor the placeholder "Factory".
    names = importlib.resources.files("tzdata").joinpath("zones").read_text().split()
    return frozenset(names) - {"Factory"}


def validate_timezone(value: str) -> None:
    """Accept only a real IANA timezone name such as ``Europe/Berlin``."""
    if value not in _timezones():
        raise ValidationError(
            "Unknown time zone; use an IANA name such as Europe/Berlin.", code="unknown"
        )


def validate_positive(value: float) -> None:
    """Greater than zero (referenced by the first migrations; fields now use ``Between``)."""
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
