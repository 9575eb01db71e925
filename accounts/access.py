"""Whether a user may still call the API, answered per process without a query per request.

A signed access token outlives a deactivation or a deletion by up to its lifetime, so every
operation asks whether its user still exists and is active. Each process remembers a positive
answer together with the user's *access version*, a random value in Redis that every change to
the user's ``is_active`` or existence replaces (:func:`user_access_changed`, called by the
model layer for saves, queryset updates and deletes). A remembered answer counts only while the
version read now is the one it was checked under, so a deactivation in any process is seen by
every other at their next operation; while Redis cannot be read, every operation asks
PostgreSQL. Negative answers are never remembered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from asgiref.sync import sync_to_async
from django.db import transaction
from redis.exceptions import RedisError

from devices.live import store

logger = logging.getLogger(__name__)

#: A remembered answer is checked again after this long even when no version changed (a
#: version replacement lost to a Redis fault cannot keep a deactivated user in for longer).
ACTIVE_MAX_AGE_S = 30.0
_MAX_USERS = 100_000
_active: dict[int, tuple[bytes | None, float]] = {}


def _bump(user_ids: list[int]) -> None:
    try:
        store.user_access_versions_bump(user_ids)
    except RedisError:
        logger.warning("access versions of %d users not replaced: Redis unavailable", len(user_ids))


def user_access_changed(user_ids: Iterable[int]) -> None:
    """Drop every process's remembered answer for ``user_ids``: now, and again at commit.

    The first replacement makes the change seen at once in this transaction's own process; the
    second one, after commit, drops an answer another process may have checked in between,
    when the change was not yet visible to it.
    """
    ids = [int(i) for i in user_ids if i is not None]
    if not ids:
        return
    for user_id in ids:
        _active.pop(user_id, None)
    _bump(ids)
    transaction.on_commit(lambda: _bump(ids), robust=True)


async def user_may_call(*, user_id: int) -> bool:
    """Whether ``user_id`` exists and is active (one Redis GET when remembered)."""
    try:
        version: bytes | None = await store.auser_access_version(
            user_id, store.shared_async_client()
        )
        readable = True
    except RedisError:
        version, readable = None, False
    now = time.monotonic()
    hit = _active.get(user_id)
    if readable and hit is not None and hit[0] == version and now < hit[1]:
        return True
    from accounts.selectors import user_is_active  # the selector reads the model that calls us

    active: bool = await sync_to_async(user_is_active)(user_id=user_id)
    if active and readable:
        if len(_active) >= _MAX_USERS:
            _active.clear()
        _active[user_id] = (version, now + ACTIVE_MAX_AGE_S)
    else:
        _active.pop(user_id, None)
    return active
