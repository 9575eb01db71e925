"""In-process fan-out of live-state changes: one Redis pub/sub connection per event loop.

Every subscriber in the process shares one :class:`LiveHub`. The hub subscribes to a channel
when its first local subscriber arrives and unsubscribes when the last one leaves, and routes
each message only to that channel's subscribers. A subscriber holds a single-slot
:class:`Mailbox`: a new value replaces an unread one, so a slow client gets the latest value and
memory per subscriber stays bounded however far it falls behind.

Pub/sub is at-most-once. When the Redis connection drops, the hub reconnects with backoff,
resubscribes, and asks every mailbox to *resync*: the subscriber then reads a fresh snapshot.
Channel names are in :mod:`devices.live.channels`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

from devices.live.codecs import decode

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds a first subscriber waits for Redis to confirm SUBSCRIBE before reading its snapshot.
SUBSCRIBE_CONFIRM_TIMEOUT_S = 2.0
RECONNECT_BACKOFF_S = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
#: Snapshot reads share a small pool, however many subscribers there are.
SNAPSHOT_POOL_SIZE = 16


@dataclass(frozen=True, slots=True)
class FollowMode:
    """Which part of a live stream :func:`follow` gives.

    A subscriber sharing one stream of changes with others (in GraphQL, one execution per
    published value for every identical subscription) reads its own current value with
    ``changes=False``, while the shared stream runs with ``initial=False`` and calls
    ``listening`` once its channels are subscribed, so that no change falls between the two.
    """

    initial: bool = True
    changes: bool = True
    listening: Callable[[], None] | None = None


#: The whole stream: the current value, then every change.
FOLLOW_ALL = FollowMode()


class Resync:
    """Marker in a mailbox: messages may have been lost, read a fresh snapshot."""


RESYNC = Resync()


class Mailbox:
    """A bounded mailbox: by default one slot, where the latest value wins; never a growing queue.

    With ``capacity`` > 1 (alert events, where each one matters) the oldest unread value is
    dropped when it is full. A resync replaces whatever is unread.
    """

    __slots__ = ("_event", "_resync", "_values", "delivered", "replaced")

    def __init__(self, capacity: int = 1) -> None:
        self._event = asyncio.Event()
        self._values: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._resync = False
        self.delivered = 0
        self.replaced = 0

    def offer(self, value: dict[str, Any] | None) -> None:
        """Put a new value, replacing the oldest unread one when full."""
        if value is None:
            return
        if self._resync:
            self.replaced += 1
            return
        if len(self._values) == self._values.maxlen:
            self.replaced += 1
        self._values.append(value)
        self._event.set()

    def resync(self) -> None:
        self.replaced += len(self._values)
        self._values.clear()
        self._resync = True
        self._event.set()

    @property
    def pending(self) -> int:
        """How many values (or resyncs) wait to be read: at most ``capacity``."""
        return len(self._values) or int(self._resync)

    async def get(self) -> dict[str, Any] | Resync:
        """Wait for the next value (the latest one when several arrived, capacity 1)."""
        while not self._values and not self._resync:
            self._event.clear()
            await self._event.wait()
        self.delivered += 1
        if self._resync:
            self._resync = False
            return RESYNC
        return self._values.popleft()


class LiveHub:
    """One pub/sub connection shared by all subscribers on one event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.mailboxes: dict[str, set[Mailbox]] = {}
        self.reconnects = 0
        self.messages = 0
        self._reader_redis = aioredis.Redis.from_url(url, health_check_interval=0)
        self._pubsub: Any = None
        self._connected = asyncio.Event()
        self._confirmed: dict[str, asyncio.Event] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._snapshots: aioredis.Redis = aioredis.Redis(
            connection_pool=aioredis.BlockingConnectionPool.from_url(
                url, max_connections=SNAPSHOT_POOL_SIZE, timeout=10
            )
        )

    @property
    def redis(self) -> aioredis.Redis:
        """A pooled client for snapshot reads (at most ``SNAPSHOT_POOL_SIZE`` connections)."""
        return self._snapshots

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="live-hub")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close_pubsub()
        await self._snapshots.aclose()  # type: ignore[attr-defined]
        await self._reader_redis.aclose()  # type: ignore[attr-defined]

    @contextlib.asynccontextmanager
    async def subscription(
        self, channels: str | Sequence[str], *, capacity: int = 1
    ) -> AsyncIterator[Mailbox]:
        """A mailbox receiving the messages of one or several channels while the block runs."""
        self.start()
        names = [channels] if isinstance(channels, str) else list(dict.fromkeys(channels))
        mailbox = Mailbox(capacity)
        try:
            for channel in names:
                subscribers = self.mailboxes.setdefault(channel, set())
                subscribers.add(mailbox)
                if len(subscribers) == 1:
                    await self._subscribe(channel)
            for channel in names:
                confirmed = self._confirmed.get(channel)
                if confirmed is not None and not confirmed.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_CONFIRM_TIMEOUT_S)
            yield mailbox
        finally:
            for channel in names:
                subscribers = self.mailboxes.get(channel, set())
                subscribers.discard(mailbox)
                if not subscribers and channel in self.mailboxes:
                    del self.mailboxes[channel]
                    self._confirmed.pop(channel, None)
                    await self._unsubscribe(channel)

    def queued(self) -> int:
        """Values waiting in all mailboxes: at most one per subscriber."""
        return sum(box.pending for boxes in self.mailboxes.values() for box in boxes)

    def subscriber_count(self) -> int:
        return sum(len(boxes) for boxes in self.mailboxes.values())

    async def _subscribe(self, channel: str) -> None:
        self._confirmed[channel] = asyncio.Event()
        if self._pubsub is None or not self._connected.is_set():
            self._wake.set()  # the reader subscribes to everything once (re)connected
            return
        try:
            await self._pubsub.subscribe(channel)
        except (RedisError, OSError):
            logger.warning("live hub: SUBSCRIBE %s failed; retried on reconnect", channel)
        self._wake.set()  # the reader may be idle, waiting for a first channel

    async def _unsubscribe(self, channel: str) -> None:
        if self._pubsub is None or not self._connected.is_set():
            return
        try:
            await self._pubsub.unsubscribe(channel)
        except (RedisError, OSError):
            logger.warning("live hub: UNSUBSCRIBE %s failed", channel)

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._connected.clear()
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _run(self) -> None:
        attempt = 0
        first = True
        while True:
            try:
                await self._connect()
                if not first:
                    self.reconnects += 1
                    logger.info("live hub: reconnected to Redis; resyncing subscribers")
                    for boxes in self.mailboxes.values():
                        for box in boxes:
                            box.resync()
                first = False
                attempt = 0
                await self._read()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                delay = RECONNECT_BACKOFF_S[min(attempt, len(RECONNECT_BACKOFF_S) - 1)]
                attempt += 1
                if attempt == 1:
                    logger.warning("live hub: Redis connection lost (%s); reconnecting", exc)
                first = False
                await self._close_pubsub()
                for event in self._confirmed.values():
                    event.clear()
                await asyncio.sleep(delay)

    async def _connect(self) -> None:
        await self._close_pubsub()
        pubsub = self._reader_redis.pubsub()
        # A PING opens the connection even when nothing is subscribed yet.
        await pubsub.execute_command("PING")
        await pubsub.parse_response(block=False, timeout=5)
        self._pubsub = pubsub
        channels = list(self.mailboxes)
        for channel in channels:
            self._confirmed.setdefault(channel, asyncio.Event()).clear()
        self._connected.set()
        if channels:
            await pubsub.subscribe(*channels)

    async def _read(self) -> None:
        pubsub = self._pubsub
        while True:
            if pubsub.subscribed:
                self._dispatch(await pubsub.parse_response(block=True))
                continue
            # Nothing to listen to: wait for a first channel, pinging now and then so that a
            # dead server is noticed.
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), 5.0)
            except TimeoutError:
                if not pubsub.subscribed:
                    await pubsub.ping()
                    self._dispatch(await pubsub.parse_response(block=False, timeout=5))

    def _dispatch(self, response: Any) -> None:
        if not isinstance(response, list) or len(response) < 3:
            return
        kind = response[0]
        if kind == b"message":
            self.messages += 1
            boxes = self.mailboxes.get(response[1].decode())
            if boxes:
                value = decode(response[2])
                for box in boxes:
                    box.offer(value)
        elif kind == b"subscribe":
            confirmed = self._confirmed.get(response[1].decode())
            if confirmed is not None:
                confirmed.set()
        elif kind == b"unsubscribe":
            self._pubsub.channels.pop(response[1], None)
            self._pubsub.pending_unsubscribe_channels.discard(response[1])


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LiveHub] = weakref.WeakKeyDictionary()


def hub() -> LiveHub:
    """The hub of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = LiveHub(settings.REDIS_STATE_URL)
    return found


async def close_hub() -> None:
    """Close the running loop's hub, if any (server shutdown)."""
    found = _hubs.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.aclose()


async def follow(
    channel: str | Sequence[str],
    *,
    snapshot: Callable[[LiveHub], Awaitable[list[T]]],
    convert: Callable[[dict[str, Any]], Awaitable[T | None]],
    capacity: int = 1,
    mode: FollowMode = FOLLOW_ALL,
) -> AsyncGenerator[T, None]:
    """The snapshot at once, then one value per change (a fresh snapshot after a resync).

    ``snapshot`` gives a list of values to send (empty: nothing current); ``convert`` shapes a
    message, or returns None to skip it. ``mode`` may leave out the first snapshot or the
    changes (see :class:`FollowMode`).
    """
    live = hub()
    if not mode.changes:
        if mode.initial:
            for value in await snapshot(live):
                yield value
        return
    async with live.subscription(channel, capacity=capacity) as mailbox:
        if mode.listening is not None:
            mode.listening()
        if mode.initial:
            for value in await snapshot(live):
                yield value
        while True:
            message = await mailbox.get()
            if isinstance(message, Resync):
                for value in await snapshot(live):
                    yield value
            elif (converted := await convert(message)) is not None:
                yield converted
