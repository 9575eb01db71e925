"""The simulation farm's bookkeeping in Redis: tick claims, shard attempts and results, timing,
failure counters, and the parameter version that keeps an on-demand step from being overwritten.

Part of the live store: these keys sit beside the live values they guard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis

from devices.live import keys
from devices.live.store import client

# Writes the values of KEYS[2..] (ARGV[3..]) with the TTL ARGV[2], only while the shard's
# parameter version KEYS[1] still equals ARGV[1]: an on-demand step that bumped it meanwhile
# wrote newer state, which a shard holding older parameters must not overwrite. Atomic.
_WRITE_IF_CURRENT = """
local version = redis.call('GET', KEYS[1]) or '0'
if version ~= ARGV[1] then
  return -1
end
local ttl = ARGV[2]
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ttl)
end
return #KEYS - 1
"""
WRITE_BATCH = 5000
# Moves the newest finalized tick KEYS[1] forward to ARGV[1], never back (a late finalize of an
# older tick leaves it). Returns the newest.
_ADVANCE = """
local newest = tonumber(redis.call('GET', KEYS[1]) or '0')
local tick = tonumber(ARGV[1])
if tick > newest then
  redis.call('SET', KEYS[1], ARGV[1])
  return tick
end
return newest
"""


def tick_claim(tick_s: int, *, period_s: int, conn: redis.Redis | None = None) -> str:
    """Take the tick (``claimed``), or say why not: ``duplicate`` (taken before) or ``skipped``
    (the previous tick still runs; counted)."""
    conn = conn or client()
    if not conn.set(keys.farm_tick_lock_key(tick_s), 1, nx=True, ex=10 * period_s):
        return "duplicate"
    if not conn.set(keys.farm_running_key(), tick_s, nx=True, ex=5 * period_s):
        conn.incr(keys.farm_skipped_key())
        # Give the tick back: beat's second firing in this interval may find the previous
        # tick finished and run this one after all.
        conn.delete(keys.farm_tick_lock_key(tick_s))
        return "skipped"
    return "claimed"


def tick_give_back(tick_s: int, conn: redis.Redis | None = None) -> None:
    """Undo a claim that could not be planned: the tick's lock and the running flag go, so a
    later firing in the same interval may claim the tick again."""
    conn = conn or client()
    conn.delete(keys.farm_tick_lock_key(tick_s))
    running_release(tick_s, conn=conn)


def tick_running(conn: redis.Redis | None = None) -> int | None:
    """The tick holding the running flag (claimed, not yet finalized), if any."""
    value = (conn or client()).get(keys.farm_running_key())
    return int(value) if value else None


def ticks_skipped(conn: redis.Redis | None = None) -> int:
    return int((conn or client()).get(keys.farm_skipped_key()) or 0)


def running_release(tick_s: int | None = None, conn: redis.Redis | None = None) -> None:
    """Let the next tick start: release the running flag (only tick ``tick_s``'s, if given)."""
    conn = conn or client()
    if tick_s is None or (conn.get(keys.farm_running_key()) or b"").decode() == str(tick_s):
        conn.delete(keys.farm_running_key())


def tick_finalized(tick_s: int, conn: redis.Redis | None = None) -> int:
    """Record that tick ``tick_s`` is finalized; returns the newest finalized tick."""
    conn = conn or client()
    return int(conn.register_script(_ADVANCE)(keys=[keys.farm_last_tick_key()], args=[tick_s]))


def tick_last_finalized(conn: redis.Redis | None = None) -> int | None:
    """The newest finalized tick (Unix seconds), or None when no tick was finalized yet."""
    raw = (conn or client()).get(keys.farm_last_tick_key())
    return int(raw) if raw is not None else None


def shard_attempt(
    tick_s: int, home_id_from: int, *, expire_s: int, conn: redis.Redis | None = None
) -> int:
    """Count one more attempt at a shard of a tick; returns the count (1 the first time)."""
    conn = conn or client()
    key = keys.farm_shard_attempts_key(tick_s, home_id_from)
    with conn.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, expire_s)
        attempts, _ = pipe.execute()
    return int(attempts)


def shard_result_put(
    tick_s: int, home_id_from: int, blob: bytes, *, expire_s: int, conn: redis.Redis | None = None
) -> str:
    """Keep a shard's result for its tick's finalize; returns the handle finalize reads."""
    handle = keys.farm_shard_key(tick_s, home_id_from)
    (conn or client()).set(handle, blob, ex=expire_s)
    return handle


def shard_results(handles: Sequence[str], conn: redis.Redis | None = None) -> list[bytes | None]:
    if not handles:
        return []
    return list((conn or client()).mget(handles))


def shards_failed_add(count: int, conn: redis.Redis | None = None) -> int:
    """Count shards that gave no result; returns the running total."""
    return int((conn or client()).incrby(keys.farm_shards_failed_key(), count))


def shards_failed(conn: redis.Redis | None = None) -> int:
    return int((conn or client()).get(keys.farm_shards_failed_key()) or 0)


def timing_record(
    tick_s: int,
    *,
    add: Mapping[str, float] | None = None,
    count: Mapping[str, int] | None = None,
    put: Mapping[str, float] | None = None,
    conn: redis.Redis | None = None,
) -> None:
    """Add seconds per phase, counts, and set values in the tick's timing hash (kept a day)."""
    conn = conn or client()
    key = keys.farm_timing_key(tick_s)
    with conn.pipeline(transaction=False) as pipe:
        for name, seconds in (add or {}).items():
            pipe.hincrbyfloat(key, name, seconds)
        for name, n in (count or {}).items():
            pipe.hincrby(key, name, n)
        for name, value in (put or {}).items():
            pipe.hset(key, name, value)
        pipe.expire(key, 24 * 3600)
        pipe.execute()


def timing(tick_s: int, conn: redis.Redis | None = None) -> dict[str, float]:
    raw = (conn or client()).hgetall(keys.farm_timing_key(tick_s))
    return {k.decode(): float(v) for k, v in raw.items()}


def params_version(home_id_from: int, conn: redis.Redis | None = None) -> bytes:
    """The shard's parameter version (moved by every on-demand step of one of its homes)."""
    return (conn or client()).get(keys.farm_params_version_key(home_id_from)) or b"0"


def params_version_bump(home_id_from: int, conn: redis.Redis | None = None) -> None:
    conn = conn or client()
    key = keys.farm_params_version_key(home_id_from)
    with conn.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, 7 * 24 * 3600)
        pipe.execute()


def shard_write(
    home_id_from: int,
    version: bytes,
    handles: Sequence[bytes],
    values: Sequence[bytes],
    *,
    expire_s: int,
    conn: redis.Redis | None = None,
    batch: int = WRITE_BATCH,
) -> bool:
    """Write a shard's values unless an on-demand step moved its parameter version since
    ``version`` was read; False when it did (the shard must reload its parameters)."""
    if not handles:
        return True
    conn = conn or client()
    script = conn.register_script(_WRITE_IF_CURRENT)
    guard = keys.farm_params_version_key(home_id_from)
    with conn.pipeline(transaction=False) as pipe:
        for start in range(0, len(handles), batch):
            script(
                keys=[guard, *handles[start : start + batch]],
                args=[version, expire_s, *values[start : start + batch]],
                client=pipe,
            )
        results = pipe.execute()
    return all(int(n) >= 0 for n in results)
