"""The in-process pub/sub hub: bounded mailboxes, routing, one connection, Redis restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings

from devices.live import channels, codecs, keys, pubsub, store
from tests import live_values
from tests.servers import Server, start_redis


async def until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def run(scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(scenario())


def test_mailbox_keeps_only_the_latest_value() -> None:
    async def scenario() -> tuple[Any, int, int]:
        box = pubsub.Mailbox()
        for i in range(10_000):
            box.offer({"i": i})
        pending = box.pending
        return await box.get(), pending, box.replaced

    value, pending, replaced = run(scenario)
    assert value == {"i": 9999}
    assert pending == 1
    assert replaced == 9999


def test_mailbox_with_capacity_drops_the_oldest() -> None:
    async def scenario() -> list[Any]:
        box = pubsub.Mailbox(capacity=3)
        for i in range(5):
            box.offer({"i": i})
        return [await box.get() for _ in range(3)]

    assert run(scenario) == [{"i": 2}, {"i": 3}, {"i": 4}]


def test_resync_replaces_unread_values() -> None:
    async def scenario() -> list[Any]:
        box = pubsub.Mailbox()
        box.offer({"i": 1})
        box.resync()
        box.offer({"i": 2})  # lost: the snapshot read after the resync is newer anyway
        first = await box.get()
        box.offer({"i": 3})
        return [first, await box.get()]

    assert run(scenario) == [pubsub.RESYNC, {"i": 3}]


def test_hub_routes_each_channel_to_its_subscribers_only() -> None:
    url = settings.REDIS_STATE_URL
    home_1, home_2 = channels.home_channel(1), channels.home_channel(2)

    async def scenario() -> dict[str, Any]:
        hub = pubsub.LiveHub(url)
        try:
            async with (
                hub.subscription(home_1) as a,
                hub.subscription(home_1) as b,
                hub.subscription(home_2) as c,
            ):
                numsub = dict(redis.Redis.from_url(url).pubsub_numsub(home_1, home_2))
                store.publish(home_1, {"v": 1})
                values = [await asyncio.wait_for(a.get(), 5), await asyncio.wait_for(b.get(), 5)]
                await asyncio.sleep(0.1)
                pending_c = c.pending
            await until(lambda: not hub.mailboxes)
            await asyncio.sleep(0.1)
            after = dict(redis.Redis.from_url(url).pubsub_numsub(home_1, home_2))
        finally:
            await hub.aclose()
        return {"numsub": numsub, "values": values, "pending_c": pending_c, "after": after}

    result = run(scenario)
    # one Redis subscription per channel, however many local subscribers
    assert result["numsub"] == {home_1.encode(): 1, home_2.encode(): 1}
    assert result["values"] == [{"v": 1}, {"v": 1}]
    assert result["pending_c"] == 0
    # the last subscriber leaving unsubscribes
    assert result["after"] == {home_1.encode(): 0, home_2.encode(): 0}


def test_follow_sends_snapshot_then_changes() -> None:
    url = settings.REDIS_STATE_URL
    channel = channels.home_channel(7)

    async def scenario() -> list[Any]:
        hub = pubsub._hubs[asyncio.get_running_loop()] = pubsub.LiveHub(url)

        async def snapshot(h: pubsub.LiveHub) -> list[Any]:
            return [
                ("snapshot", (await live_values.aread_many([keys.home_stats_key(7)], h.redis))[0])
            ]

        async def convert(value: dict[str, Any]) -> Any:
            return ("change", value)

        live_values.write_many([(keys.home_stats_key(7), {"p": 0})])
        stream = pubsub.follow(channel, snapshot=snapshot, convert=convert)
        got = [await anext(stream)]
        store.publish(channel, {"p": 1})
        got.append(await asyncio.wait_for(anext(stream), 5))
        await stream.aclose()
        await hub.aclose()
        return got

    assert run(scenario) == [("snapshot", {"p": 0}), ("change", {"p": 1})]


@pytest.fixture
def own_redis() -> Iterator[Server]:
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


def test_hub_survives_a_redis_restart(own_redis: Server) -> None:
    port = int(own_redis.url.rsplit(":", 1)[1].split("/")[0])
    url = own_redis.url
    channel = channels.home_channel(1)
    restarted: list[Server] = []

    async def scenario() -> list[Any]:
        hub = pubsub.LiveHub(url)
        try:
            async with hub.subscription(channel) as box:
                redis.Redis.from_url(url).publish(channel, codecs.encode({"v": "before"}))
                got: list[Any] = [await asyncio.wait_for(box.get(), 5)]
                # when Redis restarts on the same port
                await asyncio.to_thread(own_redis.stop)
                restarted.append(await asyncio.to_thread(start_redis, port))
                # then the hub reconnects, resubscribes and asks for a fresh snapshot
                got.append(await asyncio.wait_for(box.get(), 15))
                await until(lambda: bool(redis.Redis.from_url(url).pubsub_numsub(channel)[0][1]))
                redis.Redis.from_url(url).publish(channel, codecs.encode({"v": "after"}))
                got.append(await asyncio.wait_for(box.get(), 5))
                got.append(hub.reconnects)
        finally:
            await hub.aclose()
        return got

    try:
        assert run(scenario) == [{"v": "before"}, pubsub.RESYNC, {"v": "after"}, 1]
    finally:
        for server in restarted:
            server.stop()
