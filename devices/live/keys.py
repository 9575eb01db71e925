"""Redis key names of the live state and the farm's bookkeeping: known to ``devices.live`` only.

The layout, the TTLs and the staleness rule are in docs/architecture.md ("Live state").
Modules outside ``devices.live`` never build a key: they call :mod:`devices.live.store` or
:mod:`devices.live.ticks` with ids (an import-linter contract keeps it so).

Every name starts with ``REDIS_KEY_PREFIX``: deployments (or a test run and a development
server) sharing one Redis database never see each other's values or take each other's locks.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings


def key_prefix() -> str:
    """The deployment's namespace in Redis (read at each call, so tests can change it)."""
    return str(settings.REDIS_KEY_PREFIX)


def device_current_key(device_id: int) -> str:
    return f"{key_prefix()}device:{device_id}:current"


def device_storage_key(device_id: int) -> str:
    return f"{key_prefix()}device:{device_id}:storage"


def device_window_key(device_id: int) -> str:
    return f"{key_prefix()}device:{device_id}:window"


def home_stats_key(home_id: int) -> str:
    return f"{key_prefix()}home:{home_id}:stats"


def user_stats_key(user_id: int) -> str:
    return f"{key_prefix()}user:{user_id}:energy_stats"


def user_access_key(user_id: int) -> str:
    """A token that changes whenever the user's right to call the API may have changed."""
    return f"{key_prefix()}user:{user_id}:access"


# Many names at once, for the farm's batch writers (the prefix is read once per batch).


def device_current_handles(device_ids: Iterable[int]) -> list[bytes]:
    prefix = key_prefix()
    return [f"{prefix}device:{i}:current".encode() for i in device_ids]


def device_storage_handles(device_ids: Iterable[int]) -> list[bytes]:
    prefix = key_prefix()
    return [f"{prefix}device:{i}:storage".encode() for i in device_ids]


def device_twin_handles(device_ids: Iterable[int]) -> list[bytes]:
    prefix = key_prefix()
    return [f"{prefix}device:{i}:twin".encode() for i in device_ids]


def home_stats_handles(home_ids: Iterable[int]) -> list[bytes]:
    prefix = key_prefix()
    return [f"{prefix}home:{i}:stats".encode() for i in home_ids]


def seen_key() -> str:
    """Hash: device id -> newest reading + ``seen_at`` since the last heartbeat drain."""
    return f"{key_prefix()}hardware:seen"


def device_key_key(prefix: str) -> str:
    """The cached check of a device API key, by its public prefix."""
    return f"{key_prefix()}device-key:{prefix}"


def cache_key(key: str, _cache_prefix: str, version: int) -> str:
    """Django's cache ``KEY_FUNCTION``: cache entries (rate limits) under the prefix too
    (``CACHES``' own ``KEY_PREFIX`` is not used)."""
    return f"{key_prefix()}cache:{version}:{key}"


def lock_key(name: str) -> str:
    """A short lock taken with ``SET NX PX`` (e.g. ``hardware:seen-flush``)."""
    return f"{key_prefix()}lock:{name}"


# --- The farm's bookkeeping -------------------------------------------------------------------


def farm_tick_lock_key(tick_s: int) -> str:
    """Taken once per tick (SET NX): a duplicate or late beat finds it and does nothing."""
    return f"{key_prefix()}farm:tick:{tick_s}:lock"


def farm_running_key() -> str:
    """Held from a tick's start to its finalize: a tick arriving meanwhile is skipped."""
    return f"{key_prefix()}farm:running"


def farm_skipped_key() -> str:
    """Counter of ticks skipped because the previous one was still running."""
    return f"{key_prefix()}farm:ticks_skipped"


def farm_last_tick_key() -> str:
    """The newest finalized tick (Unix seconds): how far behind the farm is."""
    return f"{key_prefix()}farm:last_tick"


def farm_shards_failed_key() -> str:
    """Counter of shards that gave no result for their tick (their homes read stale)."""
    return f"{key_prefix()}farm:shards_failed"


def farm_shard_key(tick_s: int, home_id_from: int) -> str:
    """A shard's per-home results for its tick's finalize."""
    return f"{key_prefix()}farm:tick:{tick_s}:shard:{home_id_from}"


def farm_shard_attempts_key(tick_s: int, home_id_from: int) -> str:
    return f"{key_prefix()}farm:tick:{tick_s}:shard:{home_id_from}:attempts"


def farm_timing_key(tick_s: int) -> str:
    """Hash of seconds spent per phase (load, physics, write, finalize) in a tick."""
    return f"{key_prefix()}farm:tick:{tick_s}:timing"


def farm_params_version_key(home_id_from: int) -> str:
    """Counter moved by every on-demand step of a home in the shard starting at ``home_id_from``:
    a shard whose parameters are older than it writes nothing (see ``ticks.shard_write``)."""
    return f"{key_prefix()}farm:shard:{home_id_from}:params"
