"""Shared subscription execution: one execution per published value, for every identical
subscription of the same caller in the process.

A :class:`Feed` runs one subscription stream for a :data:`FeedKey` (document, operation name,
variables, and the caller's user id, which is all a resolver may read of its caller), changes
only, and serializes each result once. Every subscriber with that key is a :class:`Member`: it
reads its own current value through its own execution (authorisation included), then receives
the feed's payloads. Two users with the same document and variables never share a feed: the
user id is part of the key.

Memory per member stays bounded: a member holds at most ``capacity`` unsent payloads (one by
default, where the latest value wins for a slow client), and the payloads themselves are
shared. A member has no task while idle; one is started to write when a payload arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from strawberry.types.execution import ExecutionResult, PreExecutionError

logger = logging.getLogger(__name__)

#: (document, operation name, variables as sorted JSON, the caller's user id)
FeedKey = tuple[str, str | None, bytes, int]


def feed_key(
    query: str, operation_name: str | None, variables: dict[str, Any] | None, user_id: int
) -> FeedKey:
    return (
        query,
        operation_name,
        orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS),
        user_id,
    )


def next_payload(result: ExecutionResult) -> str:
    """The JSON of a ``next`` message's payload for ``result``, as strawberry shapes it."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return orjson.dumps(payload).decode()


class _Slot:
    """A queue of at most one value, where a new value replaces the unsent one."""

    __slots__ = ("value",)
    maxlen = 1

    def __init__(self) -> None:
        self.value: str | None = None

    def __len__(self) -> int:
        return 0 if self.value is None else 1

    def append(self, value: str) -> None:
        self.value = value

    def popleft(self) -> str:
        value, self.value = self.value, None
        assert value is not None
        return value

    def clear(self) -> None:
        self.value = None


class Member:
    """One subscriber of a feed: its operation id, a bounded queue of payloads, a writer."""

    __slots__ = (
        "_prefix",
        "_queue",
        "_started",
        "_writer",
        "delivered",
        "ended",
        "feed",
        "last",
        "on_feed_end",
        "replaced",
        "send",
    )

    def __init__(
        self,
        operation_id: str,
        *,
        capacity: int,
        send: Callable[[str], Awaitable[None]],
        on_feed_end: Callable[[], None],
    ) -> None:
        self._prefix = '{"id":' + orjson.dumps(operation_id).decode() + ',"type":"next","payload":'
        # One slot (latest wins) needs no deque: a deque costs ~600 bytes even when empty.
        self._queue: deque[str] | _Slot = deque(maxlen=capacity) if capacity > 1 else _Slot()
        self._started = False
        self._writer: asyncio.Task[None] | None = None
        self.send = send
        #: Called when the shared stream ends while the member is started (it then completes).
        self.on_feed_end = on_feed_end
        self.feed: Feed | None = None
        #: The last payload sent: an identical one (a snapshot's value published again) is not.
        self.last: str | None = None
        self.delivered = 0
        self.replaced = 0
        self.ended = False

    def frame(self, payload: str) -> str:
        return self._prefix + payload + "}"

    def offer(self, payload: str) -> None:
        """Queue ``payload``, dropping the oldest unsent one when full."""
        if self.ended:
            return
        if len(self._queue) == self._queue.maxlen:
            self.replaced += 1
        self._queue.append(payload)
        if self._started and self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    def start(self) -> None:
        """Begin sending the feed's payloads (after the member's own first value was sent)."""
        self._started = True
        if self._queue and self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    @property
    def started(self) -> bool:
        return self._started

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def _write(self) -> None:
        try:
            while self._queue and not self.ended:
                payload = self._queue.popleft()
                if payload == self.last:
                    continue
                self.last = payload
                await self.send(self.frame(payload))
                self.delivered += 1
        finally:
            self._writer = None

    def stop(self) -> None:
        self.ended = True
        self._queue.clear()
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None


class Feed:
    """One shared stream of results, serialized once and offered to every member."""

    def __init__(
        self,
        feeds: Feeds,
        key: FeedKey,
        stream: Callable[[Callable[[], None]], Awaitable[AsyncIterator[Any]]],
    ) -> None:
        self.key = key
        self.members: set[Member] = set()
        self.executions = 0
        self._feeds = feeds
        self._listening = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(stream), name="feed")

    async def listening(self) -> None:
        """Wait until the feed's channels are subscribed (or the feed has ended)."""
        await self._listening.wait()

    @property
    def running(self) -> bool:
        return not self._task.done()

    async def _run(
        self, stream: Callable[[Callable[[], None]], Awaitable[AsyncIterator[Any]]]
    ) -> None:
        try:
            results = await stream(self._listening.set)
            del stream  # it may hold the first member's connection: not for the feed's lifetime
            async with contextlib.aclosing(results):  # type: ignore[type-var]
                async for result in results:
                    if isinstance(result, PreExecutionError) or not isinstance(
                        result, ExecutionResult
                    ):
                        break  # refused: each member's own execution reports why
                    self.executions += 1
                    payload = next_payload(result)
                    for member in self.members:
                        member.offer(payload)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("shared subscription stream failed")
        finally:
            self._listening.set()
            self._feeds.forget(self)
            members, self.members = self.members, set()
            for member in members:
                member.feed = None
                if member.started:
                    member.on_feed_end()  # a member not started yet ends after its own value

    def cancel(self) -> None:
        self._task.cancel()


class Feeds:
    """The feeds of one event loop, by key."""

    def __init__(self) -> None:
        self.by_key: dict[FeedKey, Feed] = {}

    def join(
        self,
        key: FeedKey,
        member: Member,
        *,
        stream: Callable[[Callable[[], None]], Awaitable[AsyncIterator[Any]]],
    ) -> Feed:
        """Add ``member`` to the feed of ``key``, starting it with ``stream`` if there is none."""
        feed = self.by_key.get(key)
        if feed is None or not feed.running:
            feed = self.by_key[key] = Feed(self, key, stream)
        feed.members.add(member)
        member.feed = feed
        return feed

    def leave(self, member: Member) -> None:
        member.stop()
        feed, member.feed = member.feed, None
        if feed is None:
            return
        feed.members.discard(member)
        if not feed.members:
            self.forget(feed)
            feed.cancel()

    def forget(self, feed: Feed) -> None:
        if self.by_key.get(feed.key) is feed:
            del self.by_key[feed.key]

    def member_count(self) -> int:
        return sum(len(feed.members) for feed in self.by_key.values())


_feeds: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Feeds] = weakref.WeakKeyDictionary()


def feeds() -> Feeds:
    """The feeds of the running event loop."""
    loop = asyncio.get_running_loop()
    found = _feeds.get(loop)
    if found is None:
        found = _feeds[loop] = Feeds()
    return found
