"""The MQTT bridge under backpressure: PostgreSQL stalls (another session holds a lock on the
readings table), the writer waits, intake waits for the writer, the broker holds the backlog —
and once the lock goes, every reading published is stored. Nothing is dropped.

Real Mosquitto, PostgreSQL and Redis; the queues are made small (module settings) so that a
few hundred messages overflow them within seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from django.db import connection, connections
from paho.mqtt import client as mqtt

from devices.ingest import mqtt as mqtt_ingest
from devices.ingest.mqtt import Bridge
from devices.live import keys
from devices.models import Reading
from tests import live_values
from tests.devices.support import (  # noqa: F401
    _ingest_in_test_thread,
    _private_mqtt_topics,
    meter_fixture,
    reading,
)
from tests.polling import wait_until

# The writer thread has a connection of its own: it must see the meter committed.
pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = 150  # well over what the queues hold (intake 10 messages + writer 2 × 5 readings)
INTAKE = 10
WRITER_BATCHES = 2
FLUSH_ROWS = 5


@pytest.fixture
def small_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mqtt_ingest, "INTAKE_QUEUE_MESSAGES", INTAKE)
    monkeypatch.setattr(mqtt_ingest, "WRITER_QUEUE_BATCHES", WRITER_BATCHES)
    monkeypatch.setattr(mqtt_ingest, "WRITER_WAIT_S", 0.2)


class TableLock:
    """``LOCK TABLE … IN ACCESS EXCLUSIVE MODE`` on the readings table, held by a session of
    its own until ``release()``: every insert into it waits."""

    def __init__(self) -> None:
        db = connection.settings_dict
        self.conn = psycopg.connect(
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            dbname=db["NAME"],
            autocommit=False,
        )
        self.table = Reading._meta.db_table
        self.conn.execute(f"LOCK TABLE {self.table} IN ACCESS EXCLUSIVE MODE")

    def inserts_waiting(self) -> int:
        """Sessions whose insert into the table waits for this lock."""
        row = self.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            [f"INSERT INTO {self.table}%"],
        ).fetchone()
        return int(row[0]) if row else 0

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def in_thread(fn: Callable[[], None]) -> Callable[[], None]:
    """``fn`` as a thread's target that closes the thread's database connection after."""

    def target() -> None:
        try:
            fn()
        finally:
            connections.close_all()

    return target


def new_bridge(settings: Any) -> Bridge:
    bridge = Bridge(
        prefix=settings.MQTT_TOPIC_PREFIX,
        flush_interval_s=0.05,
        flush_rows=FLUSH_ROWS,
        threaded_writes=True,
    )
    assert bridge._queue.maxsize == INTAKE and bridge._writes.maxsize == WRITER_BATCHES
    bridge.start()
    assert bridge.subscribed.wait(5), "no broker at MQTT_URL"
    return bridge


def publish_readings(publisher: mqtt.Client, meter: Any, settings: Any) -> None:
    """MESSAGES messages of one reading each (seq 1…MESSAGES, 0.1 s apart), QoS 1, in order."""
    topic = f"{settings.MQTT_TOPIC_PREFIX}/{meter.pk}/telemetry"
    first = datetime.now(UTC) - timedelta(seconds=60)
    for seq in range(1, MESSAGES + 1):
        at = first + timedelta(milliseconds=100 * seq)
        body = {**reading(at=at, seq=seq, power=float(seq)), "key": meter.api_key}
        publisher.publish(topic, orjson.dumps(body), qos=1).wait_for_publish(5)


def test_a_stalled_database_holds_intake_back_and_drops_nothing(
    small_queues: None, publisher: mqtt.Client, meter: Any, settings: Any
) -> None:
    started = time.monotonic()
    bridge = new_bridge(settings)
    worker = threading.Thread(target=in_thread(bridge.run), name="bridge-main", daemon=True)
    lock: TableLock | None = None
    try:
        worker.start()
        lock = TableLock()
        publish_readings(publisher, meter, settings)

        # The writer's insert waits for the lock, its queue fills, intake waits for it.
        wait_until(lambda: bridge.counters["blocked"] > 0, "intake to wait for the writer", 10)
        wait_until(lambda: lock is not None and lock.inserts_waiting() > 0, "a waiting insert", 5)
        assert bridge.counters["stored"] == 0
        handled = bridge.counters["messages"]
        time.sleep(0.5)
        # Stalled: nothing more handled, and the broker holds what the bridge has not taken.
        assert bridge.counters["messages"] == handled
        assert handled + bridge._queue.qsize() < MESSAGES

        lock.release()
        wait_until(lambda: bridge.counters["stored"] == MESSAGES, "every reading stored", 15)
    finally:
        if lock is not None:
            lock.release()
        bridge.stop()
        worker.join(timeout=10)
        bridge.close()
    assert not worker.is_alive()

    seqs = Reading.objects.filter(device=meter).order_by("seq").values_list("seq", flat=True)
    assert list(seqs) == list(range(1, MESSAGES + 1))  # each once, none dropped
    counters = bridge.counters
    assert counters["messages"] == counters["readings"] == MESSAGES
    assert counters["blocked"] > 0
    assert counters["duplicates"] == 0
    assert counters["malformed"] == counters["errors"] == counters["db_errors"] == 0
    current = live_values.read_many([keys.device_current_key(meter.pk)])[0]
    assert current is not None and current["seq"] == MESSAGES
    assert time.monotonic() - started < 30


def test_a_bridge_stopped_under_backpressure_stores_what_it_took_and_exits(
    small_queues: None, publisher: mqtt.Client, meter: Any, settings: Any
) -> None:
    """Stopping while the broker still holds a backlog (paho waiting to queue a message):
    ``close()`` returns, and every message the bridge took is stored."""
    bridge = new_bridge(settings)
    worker = threading.Thread(target=in_thread(bridge.run), name="bridge-main", daemon=True)
    closer = threading.Thread(target=in_thread(bridge.close), name="bridge-close", daemon=True)
    lock: TableLock | None = None
    try:
        worker.start()
        lock = TableLock()
        publish_readings(publisher, meter, settings)
        wait_until(lambda: bridge.counters["blocked"] > 0, "intake to wait for the writer", 10)
        wait_until(lambda: bridge._queue.full(), "the intake queue to fill", 5)

        bridge.stop()  # SIGTERM, as the management command does it
        lock.release()
        worker.join(timeout=10)
        assert not worker.is_alive(), "the bridge's loop did not stop"
        closer.start()
        closer.join(timeout=15)
        assert not closer.is_alive(), f"close() hung; counters {dict(bridge.counters)}"
    finally:
        if lock is not None:
            lock.release()
        bridge.stop()

    counters = bridge.counters
    taken = counters["messages"]
    assert taken > 0 and counters["readings"] == taken
    assert counters["stored"] == taken  # everything the bridge took reached PostgreSQL
    seqs = Reading.objects.filter(device=meter).order_by("seq").values_list("seq", flat=True)
    assert list(seqs) == list(range(1, taken + 1))
    assert counters["errors"] == counters["db_errors"] == 0
