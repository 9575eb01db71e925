"""Live state in Redis: the only module that knows the key schema and the pub/sub channels.

Keys (ARCHITECTURE.md, "Live state in Redis"), each value an orjson-encoded object (the farm
writes device ``current``/``storage`` values as compact binary records instead, see
:func:`pack_currents`; :func:`decode` reads both, so readers never need to know):

``device:{id}:current``   ``power_w``, ``status``, ``ts`` (epoch s) + per-kind extras; TTL 2 ticks
``device:{id}:storage``   ``capacity_wh``, ``level_wh``, ``flow_w``, ``ts`` (storage); TTL 2 ticks
``device:{id}:window``    list of the last 60 telemetry readings, newest first (physical devices)
``home:{id}:stats``       ``production_w``, ``consumption_w``, ``storage_flow_w``,
                          ``net_grid_flow_w``, ``self_sufficiency``, ``ts`` …; TTL 2 ticks
``user:{id}:energy_stats`` the same summed over the user's homes; TTL 2 ticks

Sign convention: ``net_grid_flow_w = consumption_w + storage_flow_w - production_w``; > 0 imports.
``storage_flow_w`` > 0 charges. A value whose ``ts`` is older than one tick is *stale*.

Pub/sub channels (at-most-once; subscribers read a snapshot first, then follow updates):
``gridtwin:home:{id}`` (home stats changed), ``gridtwin:device:{id}`` (device state changed),
``gridtwin:user:{id}`` (the user's total changed), ``gridtwin:alerts:{user_id}`` (alert events).
Each message is the orjson-encoded new value (for alerts: the alert event).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import redis
import redis.asyncio as aioredis
from django.conf import settings

WINDOW_LENGTH = 60
# Pub/sub channels are server-wide (they ignore the database number), so environments
# sharing one Redis server (tests, benchmarks, make run) keep apart by prefix.
CHANNEL_PREFIX: str = settings.LIVE_CHANNEL_PREFIX


def device_current_key(device_id: int) -> str:
    return f"device:{device_id}:current"


def device_storage_key(device_id: int) -> str:
    return f"device:{device_id}:storage"


def device_window_key(device_id: int) -> str:
    return f"device:{device_id}:window"


def home_stats_key(home_id: int) -> str:
    return f"home:{home_id}:stats"


def user_stats_key(user_id: int) -> str:
    return f"user:{user_id}:energy_stats"


def home_channel(home_id: int) -> str:
    return f"{CHANNEL_PREFIX}home:{home_id}"


def device_channel(device_id: int) -> str:
    return f"{CHANNEL_PREFIX}device:{device_id}"


def user_channel(user_id: int) -> str:
    return f"{CHANNEL_PREFIX}user:{user_id}"


def alerts_channel(user_id: int) -> str:
    return f"{CHANNEL_PREFIX}alerts:{user_id}"


def device_keys_channel() -> str:
    """Device ids whose API key changed (processes caching key checks drop them)."""
    return f"{CHANNEL_PREFIX}device-keys"


def ttl_s() -> int:
    """Live keys expire after two ticks."""
    return 2 * int(settings.TICK_SECONDS)


def is_stale(value: Mapping[str, Any] | None, *, now: float | None = None) -> bool:
    """True when there is no value or it is older than one tick."""
    if not value or "ts" not in value:
        return True
    now = time.time() if now is None else now
    return bool(now - float(value["ts"]) > settings.TICK_SECONDS)


@lru_cache(maxsize=4)
def _pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url)


def client() -> redis.Redis:
    """A client on the live-state database (pooled per process)."""
    return redis.Redis(connection_pool=_pool(settings.REDIS_STATE_URL))


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


def read_many(keys: Sequence[str], conn: redis.Redis | None = None) -> list[dict[str, Any] | None]:
    """Decode many keys in one round trip (MGET); missing keys read as None."""
    if not keys:
        return []
    conn = conn or client()
    return [decode(raw) for raw in conn.mget(keys)]


async def aread_many(keys: Sequence[str], conn: aioredis.Redis) -> list[dict[str, Any] | None]:
    """:func:`read_many` for asyncio code (dataloaders, subscriptions)."""
    if not keys:
        return []
    return [decode(raw) for raw in await conn.mget(keys)]


def write_many(
    items: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    conn: redis.Redis | None = None,
    expire_s: int | None = None,
    publish: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> None:
    """``SET key value EX ttl`` for every item and publish messages, in one pipelined round trip."""
    conn = conn or client()
    expire_s = expire_s or ttl_s()
    with conn.pipeline(transaction=False) as pipe:
        for key, value in items:
            pipe.set(key, encode(value), ex=expire_s)
        for channel, message in publish:
            pipe.publish(channel, encode(message))
        pipe.execute()


def read_window(device_id: int, conn: redis.Redis | None = None) -> list[dict[str, Any]]:
    conn = conn or client()
    return [
        value for raw in conn.lrange(device_window_key(device_id), 0, -1) if (value := decode(raw))
    ]


def publish(channel: str, message: Mapping[str, Any], conn: redis.Redis | None = None) -> None:
    (conn or client()).publish(channel, encode(message))


# --- Physical devices (telemetry ingest) ----------------------------------------------------

SEEN_KEY = "hardware:seen"  # hash: device id -> newest reading + ``seen_at`` since the last drain


def telemetry_write(
    updates: Iterable[tuple[int, Mapping[str, Any], Sequence[Mapping[str, Any]]]],
    *,
    expire_s: int,
    seen: Mapping[int, Mapping[str, Any]] | None = None,
    lock: tuple[str, int] | None = None,
    conn: redis.Redis | None = None,
) -> bool:
    """For each ``(device_id, current, window)``: set ``device:{id}:current`` with a TTL, push
    ``window`` (oldest first) onto the capped window, publish ``current`` on the device channel;
    record ``seen`` (device id -> value) for :func:`seen_drain`; take ``lock`` (name, ms) with
    ``SET NX PX`` and return whether this caller got it. One pipelined round trip."""
    conn = conn or client()
    with conn.pipeline(transaction=False) as pipe:
        if lock is not None:
            pipe.set(f"lock:{lock[0]}", b"1", nx=True, px=lock[1])
        for device_id, current, window in updates:
            encoded = encode(current)
            pipe.set(device_current_key(device_id), encoded, ex=expire_s)
            if window:
                key = device_window_key(device_id)
                pipe.lpush(key, *[encode(r) for r in window[-WINDOW_LENGTH:]])
                pipe.ltrim(key, 0, WINDOW_LENGTH - 1)
            pipe.publish(device_channel(device_id), encoded)
        if seen:
            pipe.hset(SEEN_KEY, mapping={str(k): encode(v) for k, v in seen.items()})
        results = pipe.execute()
    return bool(lock is not None and results[0])


def seen_drain(conn: redis.Redis | None = None) -> dict[int, dict[str, Any]]:
    """Take (and clear, atomically) the devices recorded as seen since the last drain."""
    conn = conn or client()
    with conn.pipeline(transaction=True) as pipe:
        pipe.hgetall(SEEN_KEY)
        pipe.delete(SEEN_KEY)
        raw, _ = pipe.execute()
    return {int(k): value for k, v in raw.items() if (value := decode(v)) is not None}


# --- Compact device values (the simulation farm's hot path) --------------------------------
#
# ``device:{id}:current`` and ``device:{id}:storage`` written by the farm hold a packed binary
# record instead of JSON: 15 and 30 bytes, small enough for Redis' embedded strings (one
# allocation per value). :func:`decode` reads both forms, so readers never see the difference;
# :func:`encode` (JSON) stays the format of everything else, pub/sub messages included.

_CURRENT_TAG = 1
_STORAGE_TAG = 2
STATUS_NAMES: tuple[str, ...] = ("online", "offline", "disabled")
#: Storage and vehicle modes, in the order of ``simulators.ev.EV_MODE_NAMES``.
MODE_NAMES: tuple[str, ...] = ("idle", "charging", "discharging", "offline")
NO_MODE = 255

CURRENT_DTYPE = np.dtype(
    [("tag", "u1"), ("power_w", "<f8"), ("ts", "<u4"), ("status", "u1"), ("mode", "u1")]
)
STORAGE_DTYPE = np.dtype(
    [
        ("tag", "u1"),
        ("capacity_wh", "<f8"),
        ("level_wh", "<f8"),
        ("flow_w", "<f8"),
        ("ts", "<u4"),
        ("mode", "u1"),
    ]
)


def _split(buffer: bytes, size: int) -> list[bytes]:
    return [buffer[start : start + size] for start in range(0, len(buffer), size)]


def pack_currents(
    power_w: npt.ArrayLike, *, ts: int, mode: npt.ArrayLike | None = None, status: int = 0
) -> list[bytes]:
    """Packed ``device:{id}:current`` values, one per power (``mode``: codes or NO_MODE)."""
    power = np.asarray(power_w, dtype=np.float64)
    records = np.empty(power.shape[0], dtype=CURRENT_DTYPE)
    records["tag"] = _CURRENT_TAG
    records["power_w"] = power
    records["ts"] = ts
    records["status"] = status
    records["mode"] = NO_MODE if mode is None else mode
    return _split(records.tobytes(), CURRENT_DTYPE.itemsize)


def pack_storages(
    *,
    capacity_wh: npt.ArrayLike,
    level_wh: npt.ArrayLike,
    flow_w: npt.ArrayLike,
    mode: npt.ArrayLike,
    ts: int,
) -> list[bytes]:
    """Packed ``device:{id}:storage`` values, one per store."""
    level = np.asarray(level_wh, dtype=np.float64)
    records = np.empty(level.shape[0], dtype=STORAGE_DTYPE)
    records["tag"] = _STORAGE_TAG
    records["capacity_wh"] = capacity_wh
    records["level_wh"] = level
    records["flow_w"] = flow_w
    records["ts"] = ts
    records["mode"] = mode
    return _split(records.tobytes(), STORAGE_DTYPE.itemsize)


def unpack_storages(raws: Sequence[bytes | None]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Storage records of many raw values: (records, found mask); missing rows are zeros."""
    found = np.fromiter(
        (raw is not None and raw[:1] == b"\x02" for raw in raws), dtype=bool, count=len(raws)
    )
    records = np.zeros(len(raws), dtype=STORAGE_DTYPE)
    if found.any():
        buffer = b"".join(raw for raw, ok in zip(raws, found, strict=True) if ok and raw)
        records[found] = np.frombuffer(buffer, dtype=STORAGE_DTYPE)
    return records, found


def _mode_name(code: int) -> str | None:
    return MODE_NAMES[code] if code < len(MODE_NAMES) else None


def _decode_compact(raw: bytes) -> dict[str, Any]:
    if raw[0] == _CURRENT_TAG:
        current = np.frombuffer(raw, dtype=CURRENT_DTYPE)[0]
        value: dict[str, Any] = {
            "power_w": float(current["power_w"]),
            "status": STATUS_NAMES[int(current["status"])],
            "ts": int(current["ts"]),
        }
        if (mode := _mode_name(int(current["mode"]))) is not None:
            value["mode"] = mode
        return value
    storage = np.frombuffer(raw, dtype=STORAGE_DTYPE)[0]
    value = {
        "capacity_wh": float(storage["capacity_wh"]),
        "level_wh": float(storage["level_wh"]),
        "flow_w": float(storage["flow_w"]),
        "ts": int(storage["ts"]),
    }
    if (mode := _mode_name(int(storage["mode"]))) is not None:
        value["mode"] = mode
    return value


# Sets every KEYS[i] to ARGV[i + 1] with the TTL ARGV[1]: one command per batch instead of one
# per key, which is what the Python client spends its time on.
_SET_MANY_EX = """
local ttl = ARGV[1]
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ttl)
end
return #KEYS
"""
WRITE_BATCH = 5000


def write_raw_many(
    keys: Sequence[bytes | str],
    values: Sequence[bytes],
    *,
    conn: redis.Redis | None = None,
    expire_s: int | None = None,
    batch: int = WRITE_BATCH,
) -> None:
    """``SET key value EX ttl`` for already-encoded values, a Lua call per ``batch`` keys."""
    if not keys:
        return
    conn = conn or client()
    expire_s = expire_s or ttl_s()
    script = conn.register_script(_SET_MANY_EX)
    with conn.pipeline(transaction=False) as pipe:
        for start in range(0, len(keys), batch):
            script(
                keys=keys[start : start + batch],
                args=[expire_s, *values[start : start + batch]],
                client=pipe,
            )
        pipe.execute()


def publish_many(
    messages: Iterable[tuple[str, Mapping[str, Any]]], conn: redis.Redis | None = None
) -> None:
    """Publish JSON messages in one pipelined round trip."""
    conn = conn or client()
    with conn.pipeline(transaction=False) as pipe:
        for channel, message in messages:
            pipe.publish(channel, encode(message))
        pipe.execute()


# --- The farm's bookkeeping keys (state database) ------------------------------------------


def farm_tick_lock_key(tick_s: int) -> str:
    """Taken once per tick (SET NX): a duplicate or late beat finds it and does nothing."""
    return f"farm:tick:{tick_s}:lock"


def farm_running_key() -> str:
    """Held from a tick's start to its finalize: a tick arriving meanwhile is skipped."""
    return "farm:running"


def farm_skipped_key() -> str:
    """Counter of ticks skipped because the previous one was still running."""
    return "farm:ticks_skipped"


def farm_shard_key(tick_s: int, home_id_from: int) -> str:
    """A shard's per-home results for its tick's finalize."""
    return f"farm:tick:{tick_s}:shard:{home_id_from}"


def farm_shard_attempts_key(tick_s: int, home_id_from: int) -> str:
    return f"farm:tick:{tick_s}:shard:{home_id_from}:attempts"


def farm_timing_key(tick_s: int) -> str:
    """Hash of seconds spent per phase (load, physics, write, finalize) in a tick."""
    return f"farm:tick:{tick_s}:timing"


def farm_test_kill_key() -> str:
    """Set once by the crash-test hook before it kills its worker process."""
    return "farm:test:killed"


_ASYNC_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def shared_async_client() -> aioredis.Redis:
    """An asyncio client on the live-state database shared by the running event loop."""
    loop = asyncio.get_running_loop()
    conn = _ASYNC_CLIENTS.get(loop)
    if conn is None:
        conn = aioredis.Redis.from_url(settings.REDIS_STATE_URL)
        _ASYNC_CLIENTS[loop] = conn
    return conn


def _device_key_key(prefix: str) -> str:
    return f"device-key:{prefix}"


def device_key_get(prefix: str, conn: redis.Redis | None = None) -> dict[str, Any] | None:
    """The cached check of a device key by its prefix (``{"revoked": true}`` once rotated)."""
    return decode((conn or client()).get(_device_key_key(prefix)))


def device_key_cache(
    prefix: str, value: Mapping[str, Any], *, expire_s: int, conn: redis.Redis | None = None
) -> None:
    """Cache a key check unless the prefix was revoked meanwhile (``SET NX``)."""
    (conn or client()).set(_device_key_key(prefix), encode(value), ex=expire_s, nx=True)


def device_key_revoke(prefix: str, *, expire_s: int, conn: redis.Redis | None = None) -> None:
    """Mark a prefix revoked, overwriting any cached check, for ``expire_s``."""
    (conn or client()).set(_device_key_key(prefix), encode({"revoked": True}), ex=expire_s)
