"""Encoding of live values: JSON for most, packed binary records for the farm's device values.

``device:{id}:current`` and ``device:{id}:storage`` written by the farm hold packed records
(19 and 83 bytes; the current record is small enough for Redis' embedded strings, one allocation
per value) instead of JSON; :func:`decode` reads both forms, so readers never see the
difference. Pub/sub messages are always JSON.

Every value carries ``ts`` (the instant it describes, epoch s) and ``until`` (the instant after
which it is no longer current); :func:`is_stale` compares the clock with ``until`` only, so the
beat's offset inside the tick interval never matters (docs/architecture.md, "Staleness").
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from simulators.physics.constants import EV_MODE_NAMES

_CURRENT_TAG = 1
_STORAGE_TAG = 2
STATUS_NAMES: tuple[str, ...] = ("online", "offline", "disabled")
#: Storage and vehicle modes (the physics' codes).
MODE_NAMES: tuple[str, ...] = EV_MODE_NAMES
NO_MODE = 255

CURRENT_DTYPE = np.dtype(
    [
        ("tag", "u1"),
        ("power_w", "<f8"),
        ("ts", "<u4"),
        ("until", "<u4"),
        ("status", "u1"),
        ("mode", "u1"),
    ]
)
#: The storage ledger's book of a store (``simulators.physics.ledger.StoreBook``): average cost
#: [currency/kWh] and carbon [g/kWh] of the stored energy, and its shares by origin [-].
BOOK_FIELDS: tuple[str, ...] = (
    "cost_per_kwh",
    "carbon_g_per_kwh",
    "solar_share",
    "generator_share",
    "grid_share",
)
#: ``level_wh``/``mode``/book are the state after the tick ``ts``; ``prev_*`` the state before
#: it, so a shard redelivered for the same tick steps from the same input (exactly once). The
#: book is kept in float32: seven significant digits of an average price or share.
STORAGE_DTYPE = np.dtype(
    [
        ("tag", "u1"),
        ("capacity_wh", "<f8"),
        ("level_wh", "<f8"),
        ("flow_w", "<f8"),
        ("ts", "<u4"),
        ("until", "<u4"),
        ("mode", "u1"),
        ("prev_level_wh", "<f8"),
        ("prev_mode", "u1"),
        *((name, "<f4") for name in BOOK_FIELDS),
        *((f"prev_{name}", "<f4") for name in BOOK_FIELDS),
    ]
)


def encode(value: Mapping[str, Any]) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def decode(raw: bytes | str | None) -> dict[str, Any] | None:
    """The value of ``raw``: JSON, or a compact device record (see :func:`pack_currents`)."""
    if raw is None:
        return None
    if isinstance(raw, bytes) and raw[:1] in (b"\x01", b"\x02"):
        return _decode_compact(raw)
    value: dict[str, Any] = orjson.loads(raw)
    return value


def is_stale(value: Mapping[str, Any] | None, *, now: float | None = None) -> bool:
    """True when there is no value or the clock has passed the value's ``until``."""
    if not value or "until" not in value:
        return True
    now = time.time() if now is None else now
    return bool(now > float(value["until"]))


def _split(buffer: bytes, size: int) -> list[bytes]:
    return [buffer[start : start + size] for start in range(0, len(buffer), size)]


def pack_currents(
    power_w: npt.ArrayLike,
    *,
    ts: int,
    until: int,
    mode: npt.ArrayLike | None = None,
    status: int = 0,
) -> list[bytes]:
    """Packed ``device:{id}:current`` values, one per power (``mode``: codes or NO_MODE)."""
    power = np.asarray(power_w, dtype=np.float64)
    records = np.empty(power.shape[0], dtype=CURRENT_DTYPE)
    records["tag"] = _CURRENT_TAG
    records["power_w"] = power
    records["ts"] = ts
    records["until"] = until
    records["status"] = status
    records["mode"] = NO_MODE if mode is None else mode
    return _split(records.tobytes(), CURRENT_DTYPE.itemsize)


def pack_storages(
    *,
    capacity_wh: npt.ArrayLike,
    level_wh: npt.ArrayLike,
    flow_w: npt.ArrayLike,
    mode: npt.ArrayLike,
    prev_level_wh: npt.ArrayLike,
    prev_mode: npt.ArrayLike,
    ts: int,
    until: int,
    book: Sequence[npt.ArrayLike] | None = None,
    prev_book: Sequence[npt.ArrayLike] | None = None,
) -> list[bytes]:
    """Packed ``device:{id}:storage`` values, one per store (``book``, ``prev_book``: arrays
    in ``BOOK_FIELDS`` order; None is an empty book)."""
    level = np.asarray(level_wh, dtype=np.float64)
    records = np.empty(level.shape[0], dtype=STORAGE_DTYPE)
    records["tag"] = _STORAGE_TAG
    records["capacity_wh"] = capacity_wh
    records["level_wh"] = level
    records["flow_w"] = flow_w
    records["ts"] = ts
    records["until"] = until
    records["mode"] = mode
    records["prev_level_wh"] = prev_level_wh
    records["prev_mode"] = prev_mode
    for name, after, before in zip(
        BOOK_FIELDS,
        book or (0.0,) * len(BOOK_FIELDS),
        prev_book or (0.0,) * len(BOOK_FIELDS),
        strict=True,
    ):
        records[name] = after
        records[f"prev_{name}"] = before
    return _split(records.tobytes(), STORAGE_DTYPE.itemsize)


def unpack_storages(raws: Sequence[bytes | None]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Storage records of many raw values: (records, found mask); missing rows are zeros."""
    size = STORAGE_DTYPE.itemsize
    found = np.fromiter(
        (raw is not None and len(raw) == size and raw[:1] == b"\x02" for raw in raws),
        dtype=bool,
        count=len(raws),
    )
    records = np.zeros(len(raws), dtype=STORAGE_DTYPE)
    if found.any():
        buffer = b"".join(raw for raw, ok in zip(raws, found, strict=True) if ok and raw)
        records[found] = np.frombuffer(buffer, dtype=STORAGE_DTYPE)
    return records, found


def _mode_name(code: int) -> str | None:
    return MODE_NAMES[code] if code < len(MODE_NAMES) else None


def _decode_compact(raw: bytes) -> dict[str, Any] | None:
    if raw[0] == _CURRENT_TAG:
        if len(raw) != CURRENT_DTYPE.itemsize:
            return None  # a record of an older layout: read as missing, rewritten next tick
        current = np.frombuffer(raw, dtype=CURRENT_DTYPE)[0]
        value: dict[str, Any] = {
            "power_w": float(current["power_w"]),
            "status": STATUS_NAMES[int(current["status"])],
            "ts": int(current["ts"]),
            "until": int(current["until"]),
        }
        if (mode := _mode_name(int(current["mode"]))) is not None:
            value["mode"] = mode
        return value
    if len(raw) != STORAGE_DTYPE.itemsize:
        return None
    storage = np.frombuffer(raw, dtype=STORAGE_DTYPE)[0]
    value = {
        "capacity_wh": float(storage["capacity_wh"]),
        "level_wh": float(storage["level_wh"]),
        "flow_w": float(storage["flow_w"]),
        "ts": int(storage["ts"]),
        "until": int(storage["until"]),
    }
    for name in BOOK_FIELDS:
        value[name] = float(storage[name])
    if (mode := _mode_name(int(storage["mode"]))) is not None:
        value["mode"] = mode
    return value
