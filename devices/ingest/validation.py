"""Telemetry validation: physical ranges, types, time bounds. Pure: no database, no Redis.

A body is one reading or ``{"readings": [...]}``. Every problem is reported (per field, and per
reading index in a batch); a body with any problem is rejected whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from devices.validators import MAX_VOLTAGE_V

# wire name -> (stored name, lowest, highest, unit), bounds inclusive. Every field is bounded:
# what is stored is summed and averaged later (rollups), and must stay finite when it is.
# Power: what the highest voltage and current deliver (500 V x 100 A). Energy: a meter's
# counter, 10 GWh (23 years at that power).
FIELDS: dict[str, tuple[str, float, float, str]] = {
    "voltage": ("voltage_v", 0.0, MAX_VOLTAGE_V, "V"),
    "current": ("current_a", 0.0, 100.0, "A"),
    "power": ("power_w", 0.0, 50_000.0, "W"),
    "energy": ("energy_wh", 0.0, 1e10, "Wh"),
    "frequency": ("frequency_hz", 45.0, 65.0, "Hz"),
    "power_factor": ("power_factor", 0.0, 1.0, ""),
}
OPTIONAL = ("timestamp", "seq", "key")  # "key": MQTT payloads carry the device key
SEQ_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class ValidReading:
    """A validated reading in SI-suffixed names; ``measured_at`` is aware UTC."""

    measured_at: datetime
    seq: int | None
    voltage_v: float
    current_a: float
    power_w: float
    energy_wh: float
    frequency_hz: float
    power_factor: float

    def live(self) -> dict[str, Any]:
        """The shape of ``device:{id}:current`` and of a window entry."""
        return {
            "power_w": self.power_w,
            "voltage_v": self.voltage_v,
            "current_a": self.current_a,
            "energy_wh": self.energy_wh,
            "frequency_hz": self.frequency_hz,
            "power_factor": self.power_factor,
            "status": "online",
            "ts": self.measured_at.timestamp(),
            "seq": self.seq,
        }


class InvalidTelemetry(Exception):
    """``errors``: field -> message for one reading, or ``{"readings": {index: {...}}}``."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("Invalid telemetry.")
        self.errors = errors


class TooLarge(Exception):
    """More readings than allowed in one body."""


def parse_json(raw: bytes) -> Any:
    """Decode JSON (NaN and Infinity are not JSON and fail here); raise InvalidTelemetry."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidTelemetry({"body": f"Malformed JSON: {exc.msg}."}) from None


def readings_from_body(
    body: Any,
    *,
    now: datetime,
    max_batch: int,
    skew_s: float,
    max_age_s: float,
) -> list[ValidReading]:
    """Validate a decoded body; every reading or none (InvalidTelemetry, TooLarge)."""
    if not isinstance(body, dict):
        raise InvalidTelemetry({"body": "Expected a JSON object."})
    if "readings" in body:
        extra = sorted(set(body) - {"readings", "key"})
        if extra:
            raise InvalidTelemetry({name: "Unknown field." for name in extra})
        items = body["readings"]
        if not isinstance(items, list) or not items:
            raise InvalidTelemetry({"readings": "Expected a non-empty list of readings."})
        if len(items) > max_batch:
            raise TooLarge(f"At most {max_batch} readings per request.")
        batch = True
    else:
        items, batch = [body], False
    readings: list[ValidReading] = []
    errors: dict[str, Any] = {}
    for index, item in enumerate(items):
        reading, problems = _reading(
            item,
            now=now,
            skew_s=skew_s,
            max_age_s=max_age_s,
            timestamp_required=batch and len(items) > 1,
        )
        if problems:
            errors[str(index)] = problems
        elif reading is not None:
            readings.append(reading)
    if errors:
        raise InvalidTelemetry({"readings": errors} if batch else errors["0"])
    return readings


def _number(value: Any, low: float, high: float, unit: str) -> tuple[float | None, str]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, "Must be a number."
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None, "Must be a finite number."
    if not math.isfinite(number):
        return None, "Must be a finite number."
    if not low <= number <= high:
        return (
            None,
            f"Must be between {_plain(low)} and {_plain(high)}{' ' + unit if unit else ''}.",
        )
    return number, ""


def _plain(bound: float) -> str:
    """A bound as people write it: 10000000000, not 1e+10."""
    return f"{bound:.0f}" if bound == int(bound) else f"{bound:g}"


def _timestamp(
    value: Any, *, now: datetime, skew_s: float, max_age_s: float
) -> tuple[datetime | None, str]:
    if not isinstance(value, str):
        return None, "Must be an ISO-8601 string."
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None, "Must be an ISO-8601 date and time."
    if parsed.tzinfo is None:
        return None, "Must include a UTC offset (e.g. Z)."
    parsed = parsed.astimezone(UTC)
    if parsed > now + timedelta(seconds=skew_s):
        return None, "Is in the future."
    if parsed < now - timedelta(seconds=max_age_s):
        return None, "Is too old."
    return parsed, ""


_FAST_FIELDS = tuple((name, low, high) for name, (_, low, high, _) in FIELDS.items())
_KNOWN = frozenset(FIELDS) | frozenset(OPTIONAL)


def _reading_fast(item: dict[str, Any], now: datetime, skew_s: float, max_age_s: float) -> Any:
    """The common case (every field present and in range) without building error reports;
    None sends the reading through the full check, which says what is wrong."""
    numbers = []
    for name, low, high in _FAST_FIELDS:
        value: Any = item.get(name)
        kind = type(value)
        if kind is float or kind is int:
            if not low <= value <= high:  # False for NaN
                return None
        else:
            return None
        numbers.append(float(value))
    if not _KNOWN.issuperset(item):
        return None
    seq = item.get("seq")
    if seq is not None and (type(seq) is not int or not 0 <= seq <= SEQ_MAX):
        return None
    stamp = item.get("timestamp")
    if type(stamp) is not str:
        return None
    try:
        measured_at = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if measured_at.tzinfo is None:
        return None
    measured_at = measured_at.astimezone(UTC)
    if not (now - timedelta(seconds=max_age_s) <= measured_at <= now + timedelta(seconds=skew_s)):
        return None
    return ValidReading(measured_at, seq, *numbers)


def _reading(
    item: Any, *, now: datetime, skew_s: float, max_age_s: float, timestamp_required: bool
) -> tuple[ValidReading | None, dict[str, str]]:
    if isinstance(item, dict) and (fast := _reading_fast(item, now, skew_s, max_age_s)):
        return fast, {}
    if not isinstance(item, dict):
        return None, {"reading": "Expected a JSON object."}
    problems: dict[str, str] = {}
    for name in item:
        if name not in FIELDS and name not in OPTIONAL:
            problems[str(name)] = "Unknown field."
    values: dict[str, float] = {}
    for name, (stored, low, high, unit) in FIELDS.items():
        if name not in item:
            problems[name] = "This field is required."
            continue
        number, problem = _number(item[name], low, high, unit)
        if problem:
            problems[name] = problem
        elif number is not None:
            values[stored] = number
    measured_at: datetime | None = now
    if "timestamp" in item:
        measured_at, problem = _timestamp(
            item["timestamp"], now=now, skew_s=skew_s, max_age_s=max_age_s
        )
        if problem:
            problems["timestamp"] = problem
    elif timestamp_required:
        problems["timestamp"] = "Required for every reading of a batch."
    seq = item.get("seq")
    if isinstance(seq, float) and seq.is_integer():
        seq = int(seq)  # JSON has one kind of number: 42.0 is the integer 42
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        problems["seq"] = "Must be an integer."
    elif seq is not None and not 0 <= seq <= SEQ_MAX:
        problems["seq"] = "Must be between 0 and 2^63 - 1."
    if problems or measured_at is None:
        return None, problems
    return ValidReading(measured_at=measured_at, seq=seq, **values), {}
