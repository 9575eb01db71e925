"""Test helpers that read and write live values by Redis key name (tests may know the key
schema; production code asks ``devices.live.store`` by id)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis
import redis.asyncio as aioredis

from devices.live import codecs, store


def read_many(keys: Sequence[str], conn: redis.Redis | None = None) -> list[dict[str, Any] | None]:
    if not keys:
        return []
    return [codecs.decode(raw) for raw in (conn or store.client()).mget(keys)]


async def aread_many(keys: Sequence[str], conn: aioredis.Redis) -> list[dict[str, Any] | None]:
    if not keys:
        return []
    return [codecs.decode(raw) for raw in await conn.mget(keys)]


def write_many(
    items: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    conn: redis.Redis | None = None,
    expire_s: int | None = None,
    publish: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> None:
    conn = conn or store.client()
    with conn.pipeline(transaction=False) as pipe:
        for key, value in items:
            pipe.set(key, codecs.encode(value), ex=expire_s or store.ttl_s())
        for channel, message in publish:
            pipe.publish(channel, codecs.encode(message))
        pipe.execute()
