"""Live values decoded and shaped once per value and process, not once per request.

A live value changes once per tick (or at a meter's reading, an on-demand step), yet every
read of it decoded its bytes and built its GraphQL object again. Here each process keeps, per
owner of a value (a user's total, a home, a device), the bytes it last read with the object
they shaped into. A read still asks Redis for the current bytes (one round trip per request,
batched by the dataloader), so a new tick, a write, or an expiry is seen at once: equal bytes
of the same owner give the remembered object, anything else is shaped anew and replaces it.
An entry is never looked up under another owner's key, so no caller can get someone else's
value; ``stale`` is the only part that changes while the bytes do not, and it is recomputed at
every read from the value's ``until``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, TypeVar

from devices.live.codecs import decode
from graphql_api.live.types import (
    DeviceState,
    EnergyStats,
    device_state_from_values,
    energy_stats_from_value,
)

T = TypeVar("T", EnergyStats, DeviceState)

#: Owners remembered per process and kind before the memory is emptied and refilled.
MAX_OWNERS = 200_000


@dataclasses.dataclass(slots=True)
class _Entry:
    raw: Any
    shaped: Any
    until: float | None


class ShapeCache:
    """Per kind of value: owner -> (the bytes last read, their shaped object, its ``until``)."""

    def __init__(self) -> None:
        self.entries: dict[Any, _Entry] = {}
        self.shaped_count = 0  # how many values were shaped (not answered from memory)

    def get(self, owner: Any, raw: Any) -> Any | None:
        entry = self.entries.get(owner)
        if entry is None or entry.raw != raw:
            return None
        return _with_staleness(entry.shaped, entry.until)

    def put(self, owner: Any, raw: Any, shaped: Any, until: float | None) -> None:
        if len(self.entries) >= MAX_OWNERS:
            self.entries.clear()
        self.entries[owner] = _Entry(raw, shaped, until)
        self.shaped_count += 1

    def clear(self) -> None:
        self.entries.clear()


def _until(value: dict[str, Any] | None) -> float | None:
    if not value or value.get("until") is None:
        return None
    return float(value["until"])


def _with_staleness(shaped: T, until: float | None) -> T:
    stale = until is None or time.time() > until
    if shaped.stale == stale:
        return shaped
    return dataclasses.replace(shaped, stale=stale)


user_stats = ShapeCache()
home_stats = ShapeCache()
device_states = ShapeCache()


def energy_stats_of_user(user_id: int, raw: bytes | None) -> EnergyStats:
    """The caller's total (``user:{id}:energy_stats``) as read now."""
    hit: EnergyStats | None = user_stats.get(user_id, raw)
    if hit is not None:
        return hit
    value = decode(raw)
    shaped = energy_stats_from_value(value, home_id=None)
    user_stats.put(user_id, raw, shaped, _until(value))
    return shaped


def energy_stats_of_home(home_id: int, raw: bytes | None) -> EnergyStats:
    """A home's stats as read now; ``home_id`` must be the caller's (checked before)."""
    hit: EnergyStats | None = home_stats.get(home_id, raw)
    if hit is not None:
        return hit
    value = decode(raw)
    shaped = energy_stats_from_value(value, home_id=home_id)
    home_stats.put(home_id, raw, shaped, _until(value))
    return shaped


def device_state(device_id: int, current: bytes | None, storage: bytes | None) -> DeviceState:
    """A device's state as read now; ``device_id`` must be the caller's (checked before)."""
    raw = (current, storage)
    hit: DeviceState | None = device_states.get(device_id, raw)
    if hit is not None:
        return hit
    current_value = decode(current)
    shaped = device_state_from_values(device_id, current_value, decode(storage))
    device_states.put(device_id, raw, shaped, _until(current_value))
    return shaped
