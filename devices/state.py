"""Live state in Redis: the only module that knows the key schema and the pub/sub channels.

Keys (ARCHITECTURE.md, "Live state in Redis"), each value an orjson-encoded object:

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

import time
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis
from django.conf import settings

WINDOW_LENGTH = 60
CHANNEL_PREFIX = "gridtwin:"


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


def async_client() -> aioredis.Redis:
    """An asyncio client on the live-state database; close it when done (``aclose``)."""
    return aioredis.Redis.from_url(settings.REDIS_STATE_URL)


def encode(value: Mapping[str, Any]) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def decode(raw: bytes | str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
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


def push_window(
    device_id: int, readings: Sequence[Mapping[str, Any]], conn: redis.Redis | None = None
) -> None:
    """Prepend readings (oldest first in ``readings``) to the device's capped window."""
    if not readings:
        return
    conn = conn or client()
    key = device_window_key(device_id)
    with conn.pipeline(transaction=False) as pipe:
        pipe.lpush(key, *[encode(reading) for reading in readings])
        pipe.ltrim(key, 0, WINDOW_LENGTH - 1)
        pipe.execute()


def read_window(device_id: int, conn: redis.Redis | None = None) -> list[dict[str, Any]]:
    conn = conn or client()
    return [
        value for raw in conn.lrange(device_window_key(device_id), 0, -1) if (value := decode(raw))
    ]


def publish(channel: str, message: Mapping[str, Any], conn: redis.Redis | None = None) -> None:
    (conn or client()).publish(channel, encode(message))
