"""HTTP telemetry when the live state's Redis fails: 503, the readings kept in PostgreSQL, and
the device's re-send completing the live key, the window and the alerts — exactly once, never
turning the live value back, and only with the device's own key.

The live state points at a throwaway redis-server that the tests stop and start again on the
same port (a real outage, no fakes); the rate limit's cache stays on the suite's Redis.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import redis

from devices import hardware
from devices.live import channels, keys, store
from devices.models import Alert, AlertRule, Device, EnergyMeter, Reading
from tests import live_values
from tests.asgi_client import Client
from tests.devices.factories import HeaterFactory
from tests.devices.support import (  # noqa: F401
    _ingest_in_test_thread,
    _private_mqtt_topics,
    meter_fixture,
    other_meter_fixture,
    post,
    reading,
)
from tests.servers import Server, start_redis

pytestmark = pytest.mark.django_db

RETRY_LATER = "Readings stored, but the live update failed: send them again."


class LiveRedis:
    """The live state's Redis, on a fixed port: ``stop()`` is an outage, ``start()`` the
    recovery (an empty server, as after a restart without persistence)."""

    def __init__(self, suite_url: str) -> None:
        self.suite_url = suite_url
        self.server: Server | None = start_redis()
        self.url = self.server.url
        port = urlsplit(self.url).port
        assert port is not None
        self.port = port

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def start(self) -> None:
        assert self.server is None, "already running"
        self.server = start_redis(self.port)
        assert self.server.url == self.url


@pytest.fixture
def live_redis(settings: Any) -> Iterator[LiveRedis]:
    handle = LiveRedis(settings.REDIS_STATE_URL)
    # devices.live.store pools connections per URL: this URL gets a pool of its own.
    settings.REDIS_STATE_URL = handle.url
    yield handle
    handle.stop()


def body_of(*items: dict[str, Any]) -> dict[str, Any]:
    return {"readings": list(items)}


def series(
    count: int, *, first_seq: int, end: datetime, power: float = 250.0
) -> list[dict[str, Any]]:
    """``count`` readings one second apart, the newest at ``end``, powers power, power+1, …"""
    return [
        reading(at=end - timedelta(seconds=count - 1 - i), seq=first_seq + i, power=power + i)
        for i in range(count)
    ]


def current_of(device_id: int) -> dict[str, Any] | None:
    return live_values.read_many([keys.device_current_key(device_id)])[0]


def window_seqs(device_id: int) -> list[int]:
    return [entry["seq"] for entry in store.read_window(device_id)]


def ts_of(item: dict[str, Any]) -> float:
    return datetime.fromisoformat(item["timestamp"]).timestamp()


def test_a_resend_after_a_redis_outage_completes_the_live_state_once(
    live_redis: LiveRedis, meter: Any
) -> None:
    AlertRule.objects.create(device=meter, power_max_w=1000.0, offline=False)
    now = datetime.now(UTC)
    # Before the outage: one quiet reading goes live in the throwaway Redis, not the suite's.
    first = reading(at=now - timedelta(seconds=30), seq=1, power=200.0)
    assert post(Client(), meter.api_key, first).status_code == 201
    assert current_of(meter.pk) is not None and current_of(meter.pk)["seq"] == 1  # type: ignore[index]

    live_redis.stop()
    items = series(5, first_seq=2, end=now - timedelta(seconds=1), power=1200.0)
    failed = post(Client(), meter.api_key, body_of(*items))
    assert failed.status_code == 503, failed.content
    assert failed.json() == {"error": RETRY_LATER}
    # The readings are kept; the alert path never ran for them.
    stored = Reading.objects.filter(device=meter).order_by("measured_at")
    assert list(stored.values_list("seq", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert not Alert.objects.exists()

    live_redis.start()
    assert current_of(meter.pk) is None  # the restarted Redis knows nothing yet
    resent = post(Client(), meter.api_key, body_of(*items))
    assert resent.status_code == 201, resent.content
    assert resent.json() == {"accepted": 5, "stored": 0, "duplicates": 5, "readings": []}
    assert Reading.objects.filter(device=meter).count() == 6  # stored once, not twice

    newest = items[-1]
    current = current_of(meter.pk)
    assert current is not None
    assert (current["seq"], current["power_w"], current["status"]) == (6, 1204.0, "online")
    assert current["ts"] == pytest.approx(ts_of(newest))
    assert current["until"] == pytest.approx(ts_of(newest) + 2 * meter.reporting_interval_s)
    assert store.client().ttl(keys.device_current_key(meter.pk)) > 0
    assert window_seqs(meter.pk) == [6, 5, 4, 3, 2]  # each reading once, newest first

    # The seen path ran with the re-send: the device is online, its latest values are the
    # newest reading, and the threshold alert is raised (once).
    assert Device.objects.get(pk=meter.pk).status == "online"
    assert EnergyMeter.objects.get(pk=meter.pk).power_w == 1204.0
    alert = Alert.objects.get(device=meter)
    assert (alert.kind, alert.value, alert.resolved_at) == ("power_high", 1204.0, None)

    # A second re-send (the 201 was lost, say) changes nothing.
    again = post(Client(), meter.api_key, body_of(*items))
    assert again.status_code == 201 and again.json()["duplicates"] == 5
    hardware.seen_flush()
    assert window_seqs(meter.pk) == [6, 5, 4, 3, 2]
    assert current_of(meter.pk) == current
    assert Reading.objects.filter(device=meter).count() == 6
    assert Alert.objects.filter(device=meter).count() == 1


def test_a_resend_while_redis_is_still_down_is_503_again_and_stores_nothing_twice(
    live_redis: LiveRedis, meter: Any
) -> None:
    items = series(3, first_seq=1, end=datetime.now(UTC) - timedelta(seconds=1))
    live_redis.stop()
    for _ in range(2):
        response = post(Client(), meter.api_key, body_of(*items))
        assert response.status_code == 503, response.content
    assert Reading.objects.filter(device=meter).count() == 3
    live_redis.start()
    response = post(Client(), meter.api_key, body_of(*items))
    assert response.status_code == 201
    assert response.json()["duplicates"] == 3
    assert window_seqs(meter.pk) == [3, 2, 1]
    assert current_of(meter.pk)["seq"] == 3  # type: ignore[index]


@pytest.fixture
def meter_events(meter: Any) -> Iterator[Any]:
    """A subscriber on the meter's channel, as live clients follow it."""
    pubsub = store.client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channels.device_channel(meter.pk))
    yield pubsub
    pubsub.close()


def drained(pubsub: Any, quiet_s: float = 0.3) -> list[dict[str, Any]]:
    """The messages until the channel stays quiet for ``quiet_s``."""
    got: list[dict[str, Any]] = []
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < quiet_s:
        message = pubsub.get_message(timeout=0.05)
        if message is not None:
            got.append(orjson.loads(message["data"]))
            idle_since = time.monotonic()
    return got


def test_an_older_batch_sent_again_never_turns_the_live_value_back(
    meter: Any, meter_events: Any
) -> None:
    AlertRule.objects.create(device=meter, power_max_w=1000.0, offline=False)
    now = datetime.now(UTC)
    older = series(5, first_seq=1, end=now - timedelta(seconds=60), power=500.0)
    newer = series(5, first_seq=6, end=now - timedelta(seconds=1), power=1500.0)

    def send(items: list[dict[str, Any]]) -> dict[str, Any]:
        response = post(Client(), meter.api_key, body_of(*items))
        assert response.status_code == 201, response.content
        hardware.seen_flush()
        result: dict[str, Any] = response.json()
        return result

    assert send(older)["stored"] == 5
    assert send(newer)["stored"] == 5
    current = current_of(meter.pk)
    assert current is not None and current["seq"] == 10
    assert window_seqs(meter.pk) == [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    alert = Alert.objects.get(device=meter, kind="power_high")
    assert EnergyMeter.objects.get(pk=meter.pk).power_w == 1504.0
    assert [m["seq"] for m in drained(meter_events) if "seq" in m] == [5, 10]

    for _ in range(2):  # the older batch again, twice, and then a single old reading
        assert send(older) | {"readings": []} == {
            "accepted": 5,
            "stored": 0,
            "duplicates": 5,
            "readings": [],
        }
    assert send([older[2]])["duplicates"] == 1

    assert current_of(meter.pk) == current  # not turned back, "until" included
    assert window_seqs(meter.pk) == [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]  # nothing doubled
    assert Reading.objects.filter(device=meter).count() == 10
    # Nor announced to live subscribers, nor turned back in PostgreSQL: the meter's latest
    # values and the open alert stand.
    alert.refresh_from_db()
    assert alert.resolved_at is None
    assert EnergyMeter.objects.get(pk=meter.pk).power_w == 1504.0
    assert Device.objects.get(pk=meter.pk).status == "online"
    assert [m for m in drained(meter_events) if "seq" in m] == []


def test_a_failed_older_batch_resent_after_a_newer_one_keeps_the_newer(
    live_redis: LiveRedis, meter: Any
) -> None:
    now = datetime.now(UTC)
    older = series(4, first_seq=1, end=now - timedelta(seconds=60))
    newer = series(4, first_seq=5, end=now - timedelta(seconds=1))
    live_redis.stop()
    assert post(Client(), meter.api_key, body_of(*older)).status_code == 503
    live_redis.start()
    assert post(Client(), meter.api_key, body_of(*newer)).status_code == 201
    current = current_of(meter.pk)
    assert current is not None and current["seq"] == 8
    resent = post(Client(), meter.api_key, body_of(*older))
    assert resent.status_code == 201 and resent.json()["duplicates"] == 4
    assert current_of(meter.pk) == current
    seqs = window_seqs(meter.pk)
    assert len(seqs) == len(set(seqs)) and seqs[:4] == [8, 7, 6, 5]
    assert Reading.objects.filter(device=meter).count() == 8


def test_only_the_meters_own_key_completes_its_live_state(
    live_redis: LiveRedis, meter: Any, other_meter: Any, other_user: Any, user: Any
) -> None:
    items = series(3, first_seq=1, end=datetime.now(UTC) - timedelta(seconds=1))
    live_redis.stop()
    assert post(Client(), meter.api_key, body_of(*items)).status_code == 503
    live_redis.start()

    # The header decides the device: a body naming this meter's key is not a credential.
    no_header = post(Client(), None, {**body_of(*items), "key": meter.api_key})
    assert no_header.status_code == 401
    # Another user's meter key stores the readings as that meter's, never as this one's.
    theirs = post(Client(), other_meter.api_key, {**body_of(*items), "key": meter.api_key})
    assert theirs.status_code == 201 and theirs.json()["stored"] == 3
    assert current_of(other_meter.pk)["seq"] == 3  # type: ignore[index]
    # A forged key (this meter's prefix, the other key's secret) and the other meter's key
    # once it was rotated are refused.
    forged = meter.api_key.rsplit("_", 1)[0] + "_" + other_meter.api_key.rsplit("_", 1)[1]
    assert post(Client(), forged, body_of(*items)).status_code == 401
    old_key = other_meter.api_key
    hardware.device_api_key_rotate(user_id=other_user.pk, device_id=other_meter.pk)
    assert post(Client(), old_key, body_of(*items)).status_code == 401
    # The key of another user's device that is not physical is refused as such.
    heater = HeaterFactory(home__owner=other_user)
    heater_key = "gt_0123456789ab_" + "x" * 43
    Device.objects.filter(pk=heater.pk).update(
        api_key_prefix="0123456789ab", api_key_hash=hardware.key_hash(heater_key)
    )
    assert post(Client(), heater_key, body_of(*items)).status_code == 403

    assert current_of(meter.pk) is None
    assert store.read_window(meter.pk) == []
    assert Reading.objects.filter(device=meter).count() == 3
    assert Reading.objects.filter(device=other_meter).count() == 3
    assert not Reading.objects.filter(device=heater).exists()

    # Its own re-send completes it.
    mine = post(Client(), meter.api_key, body_of(*items))
    assert mine.status_code == 201 and mine.json()["duplicates"] == 3
    assert current_of(meter.pk)["seq"] == 3  # type: ignore[index]
    assert window_seqs(meter.pk) == [3, 2, 1]
    assert user.pk != other_user.pk


def test_the_live_state_is_in_the_throwaway_redis_only(live_redis: LiveRedis, meter: Any) -> None:
    """The override reaches the live writes (else the outages above would prove nothing)."""
    assert live_redis.url != live_redis.suite_url
    assert post(Client(), meter.api_key, reading(seq=1)).status_code == 201
    name = keys.device_current_key(meter.pk)
    assert redis.Redis.from_url(live_redis.url).exists(name) == 1
    assert redis.Redis.from_url(live_redis.suite_url).exists(name) == 0
