"""
The interface every signal provider implements.

A provider answers one kind of signal for one region over a time range, as points
``{start, end, value}`` in UTC. Providers never store anything and never fall back on
their own: the fetch task stores what they return, and the resolver falls back to the
last good value or to the synthetic provider when a provider fails (docs/architecture.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class Signal(enum.StrEnum):
    """The kinds of signal and their units."""

    IMPORT_PRICE = "import_price"
    """Price of energy bought from the grid. [currency/kWh]"""
    EXPORT_PRICE = "export_price"
    """Price paid for energy sold to the grid. [currency/kWh]"""
    CARBON_INTENSITY = "carbon_intensity"
    """Grid carbon intensity. [gCO2e/kWh]"""
    CLOUD_COVER = "cloud_cover"
    """Cloud cover as a fraction of the sky, 0..1. [-]"""
    TEMPERATURE = "temperature"
    """Outdoor air temperature. [°C]"""


@dataclass(frozen=True, slots=True)
class Point:
    """One value of a signal over ``[start, end)``; both ends timezone-aware, in UTC."""

    start: datetime
    end: datetime
    value: float


class Reason(enum.StrEnum):
    """Why a provider could not answer (a label for logs and counters; never holds a secret)."""

    ERROR = "error"
    """Anything not named below."""
    UNREACHABLE = "unreachable"
    """No connection, or the connection broke before an answer."""
    TIMEOUT = "timeout"
    """No complete answer within the provider's timeout."""
    HTTP_STATUS = "http_status"
    """An HTTP status other than 2xx."""
    TOO_LARGE = "too_large"
    """A body larger than the provider accepts."""
    MALFORMED = "malformed"
    """A body that is not the provider's format (syntax, types, missing fields, intervals)."""
    OUT_OF_RANGE = "out_of_range"
    """A value outside the signal's physical range, or not finite."""
    UNKNOWN_REGION = "unknown_region"
    """A region the provider's configuration does not map."""


class ProviderError(Exception):
    """A provider could not answer: unreachable, timed out, or a response that is not its format."""

    def __init__(self, message: str, *, reason: Reason = Reason.ERROR) -> None:
        super().__init__(message)
        self.reason = reason


class Provider(Protocol):
    """Answers one signal for a region over a time range."""

    name: str
    """Shown as the ``source`` of the values it gave, e.g. ``"synthetic"``."""
    signal: Signal

    def fetch(self, region: str, start: datetime, end: datetime) -> list[Point]:
        """Points covering as much of ``[start, end)`` as the provider knows, sorted by start.

        Raises ``ProviderError`` on any failure; never returns NaN or infinite values.
        """
        ...
