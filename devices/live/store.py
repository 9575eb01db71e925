"""Live state in Redis: reads and writes of device, home and user values by id.

The key layout is :mod:`devices.live.keys` (docs/architecture.md, "Live state"); values are
encoded by :mod:`devices.live.codecs`. Every function takes ids, never key names.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from devices.live import keys
from devices.live.channels import device_channel
from devices.live.codecs import decode, encode

WINDOW_LENGTH = 60
#: A device's window of recent readings outlives its last reading by a day, then goes (a
#: deleted or retired device leaves nothing behind in Redis for good).
WINDOW_TTL_S = 24 * 3600


def ttl_s() -> int:
    """Live keys expire two ticks after they are written."""
    return 2 * int(settings.TICK_SECONDS)


@lru_cache(maxsize=4)
def _pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url)


def client() -> redis.Redis:
    """A client on the live-state database (pooled per process)."""
    return redis.Redis(connection_pool=_pool(settings.REDIS_STATE_URL))


@lru_cache(maxsize=4)
def _probe_pool(url: str, timeout_s: float) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(
        url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
    )


def probe_client(timeout_s: float) -> redis.Redis:
    """A client on the live-state database that gives up after ``timeout_s`` (health checks:
    an unreachable Redis answers with an error, never a wait)."""
    return redis.Redis(connection_pool=_probe_pool(settings.REDIS_STATE_URL, timeout_s))


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


# --- Key handles for batch writers (opaque bytes; the farm never builds a name) ---------------


def namespace() -> str:
    """The deployment's namespace in Redis: handles built under another one are not these."""
    return keys.key_prefix()


def current_handles(device_ids: Iterable[int]) -> list[bytes]:
    return keys.device_current_handles(device_ids)


def storage_handles(device_ids: Iterable[int]) -> list[bytes]:
    return keys.device_storage_handles(device_ids)


def twin_handles(device_ids: Iterable[int]) -> list[bytes]:
    """Storage records of the stores' greedy twins (the planner's counterfactual)."""
    return keys.device_twin_handles(device_ids)


def home_handles(home_ids: Iterable[int]) -> list[bytes]:
    return keys.home_stats_handles(home_ids)


# --- Reads ------------------------------------------------------------------------------------


def _decoded(raws: Sequence[bytes | None]) -> list[dict[str, Any] | None]:
    return [decode(raw) for raw in raws]


def raw_many(handles: Sequence[bytes], conn: redis.Redis | None = None) -> list[bytes | None]:
    """Raw values of many handles in one round trip (MGET)."""
    if not handles:
        return []
    return list((conn or client()).mget(handles))


def device_currents(
    device_ids: Sequence[int], conn: redis.Redis | None = None
) -> list[dict[str, Any] | None]:
    if not device_ids:
        return []
    return _decoded((conn or client()).mget([keys.device_current_key(i) for i in device_ids]))


def device_storages(
    device_ids: Sequence[int], conn: redis.Redis | None = None
) -> list[dict[str, Any] | None]:
    if not device_ids:
        return []
    return _decoded((conn or client()).mget([keys.device_storage_key(i) for i in device_ids]))


def home_stats(
    home_ids: Sequence[int], conn: redis.Redis | None = None
) -> list[dict[str, Any] | None]:
    if not home_ids:
        return []
    return _decoded((conn or client()).mget([keys.home_stats_key(i) for i in home_ids]))


def user_stats(user_id: int, conn: redis.Redis | None = None) -> dict[str, Any] | None:
    return decode((conn or client()).get(keys.user_stats_key(user_id)))


async def adevice_values(
    device_ids: Sequence[int], conn: aioredis.Redis
) -> list[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """(current, storage) of each device, in one round trip."""
    if not device_ids:
        return []
    names = [keys.device_current_key(i) for i in device_ids]
    names += [keys.device_storage_key(i) for i in device_ids]
    values = _decoded(await conn.mget(names))
    n = len(device_ids)
    return list(zip(values[:n], values[n:], strict=True))


async def araw_device_values(
    device_ids: Sequence[int], conn: aioredis.Redis
) -> list[tuple[bytes | None, bytes | None]]:
    """Encoded (current, storage) values of each device, in one round trip (for readers that
    decode once per value and process, :func:`decode`)."""
    if not device_ids:
        return []
    names = [keys.device_current_key(i) for i in device_ids]
    names += [keys.device_storage_key(i) for i in device_ids]
    raws: list[bytes | None] = await conn.mget(names)
    n = len(device_ids)
    return list(zip(raws[:n], raws[n:], strict=True))


async def araw_home_stats(home_id: int, conn: aioredis.Redis) -> bytes | None:
    raw: bytes | None = await conn.get(keys.home_stats_key(home_id))
    return raw


async def araw_user_stats(user_id: int, conn: aioredis.Redis) -> bytes | None:
    raw: bytes | None = await conn.get(keys.user_stats_key(user_id))
    return raw


async def ahome_stats(home_id: int, conn: aioredis.Redis) -> dict[str, Any] | None:
    return decode(await conn.get(keys.home_stats_key(home_id)))


async def auser_stats(user_id: int, conn: aioredis.Redis) -> dict[str, Any] | None:
    return decode(await conn.get(keys.user_stats_key(user_id)))


def user_access_versions_bump(user_ids: Iterable[int], conn: redis.Redis | None = None) -> None:
    """Give each user's access version a new random value (never a reused one, even after the
    key was lost), so that every process's remembered answer for them is dropped."""
    ids = list(user_ids)
    if not ids:
        return
    with (conn or client()).pipeline(transaction=False) as pipe:
        for user_id in ids:
            pipe.set(keys.user_access_key(user_id), uuid.uuid4().bytes)
        pipe.execute()


async def auser_access_version(user_id: int, conn: aioredis.Redis) -> bytes | None:
    value: bytes | None = await conn.get(keys.user_access_key(user_id))
    return value


def read_window(device_id: int, conn: redis.Redis | None = None) -> list[dict[str, Any]]:
    conn = conn or client()
    return [
        value
        for raw in conn.lrange(keys.device_window_key(device_id), 0, -1)
        if (value := decode(raw))
    ]


# --- Writes -----------------------------------------------------------------------------------


def _write(
    items: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    conn: redis.Redis | None,
    expire_s: int | None,
    publish: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> None:
    conn = conn or client()
    expire_s = expire_s or ttl_s()
    with conn.pipeline(transaction=False) as pipe:
        for key, value in items:
            pipe.set(key, encode(value), ex=expire_s)
        for channel, message in publish:
            pipe.publish(channel, encode(message))
        pipe.execute()


def device_currents_write(
    items: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    conn: redis.Redis | None = None,
    expire_s: int | None = None,
    publish: bool = False,
) -> None:
    """Set each device's ``current`` value (JSON) and, with ``publish``, announce it."""
    items = list(items)
    _write(
        [(keys.device_current_key(i), value) for i, value in items],
        conn=conn,
        expire_s=expire_s,
        publish=[(device_channel(i), value) for i, value in items] if publish else (),
    )


def home_stats_write(
    items: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    conn: redis.Redis | None = None,
    expire_s: int | None = None,
) -> None:
    _write([(keys.home_stats_key(i), value) for i, value in items], conn=conn, expire_s=expire_s)


def user_stats_write(
    items: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    conn: redis.Redis | None = None,
    expire_s: int | None = None,
) -> None:
    _write([(keys.user_stats_key(i), value) for i, value in items], conn=conn, expire_s=expire_s)


def publish(channel: str, message: Mapping[str, Any], conn: redis.Redis | None = None) -> None:
    (conn or client()).publish(channel, encode(message))


def publish_many(
    messages: Iterable[tuple[str, Mapping[str, Any]]], conn: redis.Redis | None = None
) -> None:
    """Publish JSON messages in one pipelined round trip."""
    conn = conn or client()
    with conn.pipeline(transaction=False) as pipe:
        for channel, message in messages:
            pipe.publish(channel, encode(message))
        pipe.execute()


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
    handles: Sequence[bytes],
    values: Sequence[bytes],
    *,
    conn: redis.Redis | None = None,
    expire_s: int | None = None,
    batch: int = WRITE_BATCH,
) -> None:
    """``SET key value EX ttl`` for already-encoded values, a Lua call per ``batch`` keys."""
    if not handles:
        return
    conn = conn or client()
    expire_s = expire_s or ttl_s()
    script = conn.register_script(_SET_MANY_EX)
    with conn.pipeline(transaction=False) as pipe:
        for start in range(0, len(handles), batch):
            script(
                keys=handles[start : start + batch],
                args=[expire_s, *values[start : start + batch]],
                client=pipe,
            )
        pipe.execute()


# --- Physical devices (telemetry ingest) ------------------------------------------------------


# Sets (and publishes) a device's current reading unless a newer one is there, and pushes onto
# its window the readings newer than that one: a device re-sending readings after a failure
# completes what the failed attempt left undone and never turns the live value back (nor
# announces an old one), nor doubles the window.
# Records the device as seen: with its reading when that is the newest, else with the newer
# reading already current (a stale re-send must not turn back the meter's latest values nor
# decide its alerts on an old reading).
# KEYS: current, window, seen hash. ARGV: ttl, window length, current JSON, current ts, device
# channel, seen field ('' for none), seen JSON (the reading's), what seen adds to a reading (a
# JSON object), the window's TTL, then (ts, JSON) pairs of the window entries, oldest first.
_TELEMETRY_WRITE = """
local old = redis.call('GET', KEYS[1])
local newest = -1
if old then
  local ok, value = pcall(cjson.decode, old)
  if ok and type(value) == 'table' and tonumber(value['ts']) then
    newest = tonumber(value['ts'])
  end
end
local fresh = tonumber(ARGV[4]) >= newest
if fresh then
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[1])
  redis.call('PUBLISH', ARGV[5], ARGV[3])
end
if ARGV[6] ~= '' then
  if fresh then
    redis.call('HSET', KEYS[3], ARGV[6], ARGV[7])
  elseif string.sub(old, 1, 1) ~= '{' then
    redis.call('HSET', KEYS[3], ARGV[6], ARGV[8])
  elseif ARGV[8] == '{}' then
    redis.call('HSET', KEYS[3], ARGV[6], old)
  else
    redis.call('HSET', KEYS[3], ARGV[6], string.sub(ARGV[8], 1, -2) .. ',' .. string.sub(old, 2))
  end
end
local pushed = 0
for i = 10, #ARGV, 2 do
  if tonumber(ARGV[i]) > newest then
    redis.call('LPUSH', KEYS[2], ARGV[i + 1])
    pushed = pushed + 1
  end
end
if pushed > 0 then
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
  redis.call('EXPIRE', KEYS[2], ARGV[9])
end
return pushed
"""


def telemetry_write(
    updates: Iterable[tuple[int, Mapping[str, Any], Sequence[Mapping[str, Any]]]],
    *,
    expire_s: int,
    seen: Mapping[int, Mapping[str, Any]] | None = None,
    lock: tuple[str, int] | None = None,
    conn: redis.Redis | None = None,
) -> bool:
    """For each ``(device_id, current, window)``: set ``current`` (unless a newer reading is
    there) with a TTL and publish it on the device channel, push the newer ``window`` entries
    (oldest first) onto the capped window; record ``seen`` (device id -> value); take
    ``lock`` (name, ms) with ``SET NX PX`` and return whether this caller got it.

    A device's ``seen`` value is its ``current`` plus what seen adds (``seen_at``); when a
    newer reading is already current, that reading goes with ``seen_at`` instead, so a
    re-sent older batch never turns the seen values (meter latest, alerts) back either.

    One round trip, applied all or nothing (MULTI/EXEC): after a failure the caller re-sends.
    """
    conn = conn or client()
    script = conn.register_script(_TELEMETRY_WRITE)
    seen = dict(seen or {})
    with conn.pipeline(transaction=True) as pipe:
        if lock is not None:
            pipe.set(keys.lock_key(lock[0]), b"1", nx=True, px=lock[1])
        for device_id, current, window in updates:
            encoded = encode(current)
            value = seen.pop(device_id, None)
            if value is None:
                seen_args: list[Any] = ["", b"", b"{}"]
            else:
                extra = {k: v for k, v in value.items() if k not in current}
                seen_args = [str(device_id), encode(value), encode(extra)]
            entries: list[Any] = []
            for reading in window[-WINDOW_LENGTH:]:
                entries += [reading["ts"], encode(reading)]
            script(
                keys=[
                    keys.device_current_key(device_id),
                    keys.device_window_key(device_id),
                    keys.seen_key(),
                ],
                args=[
                    expire_s,
                    WINDOW_LENGTH,
                    encoded,
                    current["ts"],
                    device_channel(device_id),
                    *seen_args,
                    WINDOW_TTL_S,
                    *entries,
                ],
                client=pipe,
            )
        if seen:
            pipe.hset(keys.seen_key(), mapping={str(k): encode(v) for k, v in seen.items()})
        results = pipe.execute()
    return bool(lock is not None and results[0])


def seen_drain(conn: redis.Redis | None = None) -> dict[int, dict[str, Any]]:
    """Take (and clear, atomically) the devices recorded as seen since the last drain."""
    conn = conn or client()
    with conn.pipeline(transaction=True) as pipe:
        pipe.hgetall(keys.seen_key())
        pipe.delete(keys.seen_key())
        raw, _ = pipe.execute()
    return {int(k): value for k, v in raw.items() if (value := decode(v)) is not None}


# --- Device API key checks --------------------------------------------------------------------


def device_key_get(prefix: str, conn: redis.Redis | None = None) -> dict[str, Any] | None:
    """The cached check of a device key by its prefix (``{"revoked": true}`` once rotated)."""
    return decode((conn or client()).get(keys.device_key_key(prefix)))


def device_key_cache(
    prefix: str, value: Mapping[str, Any], *, expire_s: int, conn: redis.Redis | None = None
) -> None:
    """Cache a key check unless the prefix was revoked meanwhile (``SET NX``)."""
    (conn or client()).set(keys.device_key_key(prefix), encode(value), ex=expire_s, nx=True)


def device_key_revoke(prefix: str, *, expire_s: int, conn: redis.Redis | None = None) -> None:
    """Mark a prefix revoked, overwriting any cached check, for ``expire_s``."""
    (conn or client()).set(keys.device_key_key(prefix), encode({"revoked": True}), ex=expire_s)
