"""The MQTT bridge: device topics in, live state at once, PostgreSQL in batches.

Subscribes to ``{MQTT_TOPIC_PREFIX}/+/telemetry``, ``…/+/acks`` and ``…/+/status``. Every
payload is a JSON object carrying the device key in ``"key"``; it counts only when the key and
the topic name the same device. Telemetry goes to the live keys immediately and to
``Reading`` every second or every ``flush_rows`` readings. A malformed message is logged,
counted and dropped; nothing a client sends stops the bridge. paho's network thread reconnects
with exponential backoff (1 s … 60 s) and only queues messages; the main loop does the work.
When PostgreSQL lags, intake waits for the writer and the broker holds the backlog
(backpressure, see ``INTAKE_QUEUE_MESSAGES``): nothing valid is dropped. Only a reading that can
never be stored (its device was deleted after its key check was cached, or PostgreSQL refuses
the row) is dropped from its batch, counted (``dropped_<reason>``) and logged; the rest of the
batch is stored.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices import hardware
from devices.hardware import DeviceAuth
from devices.ingest.validation import (
    InvalidTelemetry,
    TooLarge,
    ValidReading,
    readings_from_body,
)
from devices.live import channels, codecs, store
from devices.models import DeviceSource
from monitoring import metrics

logger = logging.getLogger(__name__)

LEAVES = ("telemetry", "acks", "status")
WRITER_QUEUE_BATCHES = 200  # batches of up to flush_rows readings waiting for PostgreSQL
WRITER_WAIT_S = 5.0  # intake waits this long for the writer before it says it is blocked
#: Messages received and not yet handled. When full, paho's network thread waits: the bridge
#: stops reading its socket and the broker holds the rest (backpressure, never a silent drop).
INTAKE_QUEUE_MESSAGES = 100_000
AUTH_TTL_S = 60.0  # a key check is reused this long (dropped at once when the key rotates)
AUTH_MISS_TTL_S = 5.0
AUTH_CACHE_SIZE = 50_000


@dataclass(slots=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


class Bridge:
    """One bridge process. ``start()`` connects in the background; ``run()`` works until
    ``stop()``; ``counters`` says what happened (messages, readings, stored, malformed, …)."""

    def __init__(
        self,
        *,
        url: str | None = None,
        prefix: str | None = None,
        client_id: str | None = None,
        flush_interval_s: float = 1.0,
        flush_rows: int = 1000,
        threaded_writes: bool = True,
    ) -> None:
        parsed = urlsplit(url or settings.MQTT_URL)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 1883
        self.prefix = (prefix or settings.MQTT_TOPIC_PREFIX).rstrip("/")
        self.flush_interval_s = flush_interval_s
        self.flush_rows = flush_rows
        self.counters: Counter[str] = Counter()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._queue: queue.Queue[Message] = queue.Queue(maxsize=INTAKE_QUEUE_MESSAGES)
        self._stop = threading.Event()
        self._rows: list[tuple[int, ValidReading]] = []
        # PostgreSQL inserts run in a writer thread so parsing and live writes go on meanwhile.
        self._writes: queue.Queue[list[tuple[int, ValidReading]] | None] = queue.Queue(
            maxsize=WRITER_QUEUE_BATCHES
        )
        self._writer = (
            threading.Thread(target=self._write_loop, name="bridge-writer", daemon=True)
            if threaded_writes
            else None
        )
        self._last_flush = time.monotonic()
        self._auth: OrderedDict[str, tuple[DeviceAuth | None, float]] = OrderedDict()
        # Devices the writer found deleted; the main loop forgets their cached key checks.
        self._gone: queue.SimpleQueue[frozenset[int]] = queue.SimpleQueue()
        self._pubsub: Any = None
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"gridtwin-bridge-{uuid.uuid4().hex[:8]}",
            # A named bridge keeps its session: the broker holds the QoS 1 messages that arrive
            # while the bridge is away, or blocked long enough to be disconnected (up to the
            # broker's max_queued_messages), and delivers them when it is back.
            clean_session=client_id is None,
        )
        if parsed.username:
            self.client.username_pw_set(parsed.username, parsed.password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=60)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # -- paho's thread: connect, subscribe, queue ---------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            logger.warning("mqtt bridge: broker refused the connection: %s", reason)
            return
        client.subscribe([(f"{self.prefix}/+/{leaf}", 1) for leaf in LEAVES])
        self.counters["connects"] += 1
        self.connected.set()
        logger.info("mqtt bridge: connected to %s:%s, prefix %s", self.host, self.port, self.prefix)

    def _on_subscribe(self, _c: Any, _u: Any, _mid: Any, _codes: Any, _p: Any) -> None:
        self.subscribed.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            self.counters["disconnects"] += 1
            logger.warning("mqtt bridge: disconnected (%s); reconnecting with backoff", reason)

    def _on_connect_fail(self, _c: Any, _u: Any) -> None:
        self.counters["connect_failures"] += 1
        if (
            self.counters["connect_failures"] in (1, 10)
            or self.counters["connect_failures"] % 100 == 0
        ):
            logger.warning(
                "mqtt bridge: no broker at %s:%s (%d attempts); retrying with backoff up to 60 s",
                self.host,
                self.port,
                self.counters["connect_failures"],
            )

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._queue.put(Message(msg.topic, msg.payload, bool(msg.retain)))

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        try:
            conn = store.client()
            self._pubsub = conn.pubsub(ignore_subscribe_messages=True)
            self._pubsub.subscribe(channels.device_keys_channel())
        except Exception:
            logger.warning("mqtt bridge: cannot follow key rotations; caching less", exc_info=True)
            self._pubsub = None
        if self._writer is not None:
            self._writer.start()
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Stop receiving, then handle and store everything received. (Messages the broker
        has not delivered were never acknowledged; with a clean session it drops them.)"""
        self._stop.set()
        # Under backpressure paho's thread waits in _on_message for room in the intake queue:
        # keep emptying it until the thread has sent DISCONNECT and ended, or it never ends.
        self.client.disconnect()
        network = threading.Thread(target=self.client.loop_stop, name="bridge-mqtt-stop")
        network.start()
        while network.is_alive():
            self.process(timeout_s=0.05)
        while self.process(timeout_s=0):
            pass
        self._flush_rows(force=True)
        if self._writer is not None and self._writer.is_alive():
            self._writes.put(None)
            self._writer.join(timeout=30)
        self._safely("seen flush", hardware.seen_flush)
        logger.info("mqtt bridge: stopped; %s", dict(self.counters))
        if self._pubsub is not None:
            self._pubsub.close()

    def run(self) -> None:
        """Work until ``stop()``; never raises for a bad message or a failing dependency."""
        last_stats = time.monotonic()
        while not self._stop.is_set():
            try:
                self.process(timeout_s=0.05)
            except Exception:  # belt and braces: the loop itself must survive anything
                self.counters["errors"] += 1
                logger.exception("mqtt bridge: unexpected error")
                time.sleep(0.5)
            if time.monotonic() - last_stats >= 60:
                last_stats = time.monotonic()
                logger.info("mqtt bridge: %s", dict(self.counters))

    # -- the work -----------------------------------------------------------------------------

    def process(self, *, timeout_s: float = 0.05, max_messages: int = 5000) -> int:
        """Handle the queued messages (waiting up to ``timeout_s`` for the first)."""
        messages: list[Message] = []
        try:
            messages.append(
                self._queue.get(timeout=timeout_s) if timeout_s else self._queue.get_nowait()
            )
            while len(messages) < max_messages:
                messages.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        self._follow_key_rotations()
        if messages:
            now = hardware.now_utc()
            live: dict[int, tuple[DeviceAuth, list[ValidReading]]] = {}
            for message in messages:
                self.counters["messages"] += 1
                try:
                    self._handle(message, now, live)
                except Exception:
                    self.counters["errors"] += 1
                    metrics.mqtt_dropped("error")
                    logger.exception("mqtt bridge: failed on a message on %s", message.topic)
                    close_old_connections()
            if live:
                self._safely(
                    "live write", lambda: hardware.telemetry_live(live.values(), received_at=now)
                )
        self._flush_rows()
        return len(messages)

    def _handle(
        self,
        message: Message,
        now: datetime,
        live: dict[int, tuple[DeviceAuth, list[ValidReading]]],
    ) -> None:
        parts = message.topic[len(self.prefix) + 1 :].split("/")
        if len(parts) != 2 or parts[1] not in LEAVES or not parts[0].isdigit():
            return self._malformed(message, "unexpected topic", kind="topic")
        topic_device_id, leaf = int(parts[0]), parts[1]
        try:
            payload = orjson.loads(message.payload)
        except orjson.JSONDecodeError:
            return self._malformed(message, "not JSON", kind="json")
        if not isinstance(payload, dict):
            return self._malformed(message, "not a JSON object", kind="object")
        key = payload.get("key")
        device = self._authenticate(key) if isinstance(key, str) else None
        if device is None or device.device_id != topic_device_id:
            self.counters["unauthorized"] += 1
            metrics.mqtt_dropped("unauthorized")
            if leaf == "telemetry":
                metrics.telemetry_refused(transport="mqtt", reason="bad_key")
            if self.counters["unauthorized"] <= 20 or self.counters["unauthorized"] % 1000 == 0:
                logger.warning("mqtt bridge: bad key or wrong device on %s", message.topic)
            return None
        if leaf == "telemetry":
            return self._telemetry(device, payload, now, live, message)
        if leaf == "acks":
            return self._ack(device, payload, message)
        return self._status(device, payload, message)

    def _telemetry(
        self,
        device: DeviceAuth,
        payload: dict[str, Any],
        now: datetime,
        live: dict[int, tuple[DeviceAuth, list[ValidReading]]],
        message: Message,
    ) -> None:
        if device.source != DeviceSource.PHYSICAL:
            self.counters["unauthorized"] += 1
            metrics.mqtt_dropped("not_physical")
            metrics.telemetry_refused(transport="mqtt", reason="not_physical")
            return
        try:
            readings = readings_from_body(
                payload,
                now=now,
                max_batch=settings.TELEMETRY_MAX_BATCH,
                skew_s=settings.TELEMETRY_CLOCK_SKEW_S,
                max_age_s=settings.TELEMETRY_MAX_AGE_S,
            )
        except (InvalidTelemetry, TooLarge) as exc:
            detail = exc.errors if isinstance(exc, InvalidTelemetry) else str(exc)
            reason = "invalid" if isinstance(exc, InvalidTelemetry) else "too_large"
            metrics.telemetry_refused(transport="mqtt", reason=reason)
            return self._malformed(message, f"invalid telemetry {detail}", kind="telemetry")
        self.counters["readings"] += len(readings)
        metrics.readings_ingested(transport="mqtt", count=len(readings))
        live.setdefault(device.device_id, (device, []))[1].extend(readings)
        self._rows.extend((device.device_id, r) for r in readings)

    def _ack(self, device: DeviceAuth, payload: dict[str, Any], message: Message) -> None:
        command_id = payload.get("id")
        if not isinstance(command_id, str):
            return self._malformed(message, "ack without id", kind="ack")
        try:
            hardware.command_ack(
                device_id=device.device_id,
                command_id=command_id,
                status=str(payload.get("status", "")),
                result=payload.get("result"),
            )
        except (ValidationError, hardware.CommandNotFound, hardware.CommandClosed) as exc:
            self.counters["acks_refused"] += 1
            logger.info(
                "mqtt bridge: ack %s from device %s refused: %r", command_id, device.device_id, exc
            )
            return None
        self.counters["acks"] += 1
        hardware.device_seen(device=device)

    def _status(self, device: DeviceAuth, payload: dict[str, Any], message: Message) -> None:
        status = payload.get("status")
        if status not in ("online", "offline"):
            return self._malformed(message, "status must be online or offline", kind="status")
        self.counters["statuses"] += 1
        if status == "offline":
            self._flush_rows(force=True)
            hardware.seen_flush()
            hardware.devices_mark_offline(device_ids=[device.device_id], reason="will")
        elif not message.retain:  # a retained "online" may be stale; telemetry will tell
            hardware.device_seen(device=device)

    def _malformed(self, message: Message, reason: str, *, kind: str) -> None:
        self.counters["malformed"] += 1
        metrics.mqtt_malformed(kind)
        n = self.counters["malformed"]
        if n <= 20 or n % 1000 == 0:
            logger.warning(
                "mqtt bridge: dropped a malformed message on %s (%s; %d so far): %r",
                message.topic,
                reason,
                n,
                message.payload[:120],
            )

    def _authenticate(self, key: str) -> DeviceAuth | None:
        now = time.monotonic()
        cached = self._auth.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        device = hardware.device_authenticate(key=key)
        self._auth[key] = (device, now + (AUTH_TTL_S if device else AUTH_MISS_TTL_S))
        self._auth.move_to_end(key)
        while len(self._auth) > AUTH_CACHE_SIZE:
            self._auth.popitem(last=False)
        return device

    def _follow_key_rotations(self) -> None:
        self._forget_gone_devices()
        if self._pubsub is None:
            return
        try:
            while (msg := self._pubsub.get_message(timeout=0)) is not None:
                rotated = (codecs.decode(msg.get("data")) or {}).get("device_id")
                for key, (device, _) in list(self._auth.items()):
                    if device is not None and device.device_id == rotated:
                        del self._auth[key]
        except Exception:
            logger.warning(
                "mqtt bridge: key rotation feed failed; clearing the cache", exc_info=True
            )
            self._auth.clear()

    def _forget_gone_devices(self) -> None:
        gone: set[int] = set()
        while True:
            try:
                gone.update(self._gone.get_nowait())
            except queue.Empty:
                break
        if not gone:
            return
        for key, (device, _) in list(self._auth.items()):
            if device is not None and device.device_id in gone:
                del self._auth[key]
                self._safely("key forget", lambda key=key: hardware.device_key_forget(key=key))

    def _flush_rows(self, *, force: bool = False) -> None:
        due = time.monotonic() - self._last_flush >= self.flush_interval_s
        if not (force or due or len(self._rows) >= self.flush_rows):
            return
        self._last_flush = time.monotonic()
        if self._rows:
            rows, self._rows = self._rows, []
            if self._writer is None:
                self._store(rows)
            else:
                self._hand_over(rows)
        if due or force:
            self._safely("seen flush", hardware.seen_flush)

    def _hand_over(self, rows: list[tuple[int, ValidReading]]) -> None:
        """Queue rows for the writer thread, waiting for as long as it lags: intake stops, its
        queue fills, paho stops reading, and the broker holds the messages (backpressure).
        Nothing is dropped; a long wait is logged and counted."""
        try:
            self._writes.put(rows, timeout=WRITER_WAIT_S)
            return
        except queue.Full:
            self.counters["blocked"] += 1
            metrics.mqtt_writer_waited()
            logger.warning(
                "mqtt bridge: PostgreSQL is not keeping up; intake waits for the writer "
                "(%d waits so far)",
                self.counters["blocked"],
            )
        self._writes.put(rows)

    def _store(self, rows: list[tuple[int, ValidReading]]) -> bool:
        """Store a batch; False when PostgreSQL is unavailable (the batch is retried whole).
        Readings that can never be stored are dropped from it, counted and logged."""
        try:
            result = hardware.readings_store(rows, received_at=hardware.now_utc())
        except Exception:
            self.counters["db_errors"] += 1
            logger.exception("mqtt bridge: storing %d readings failed; will retry", len(rows))
            close_old_connections()
            return False
        self.counters["stored"] += result.stored
        self.counters["duplicates"] += result.duplicates
        metrics.readings_stored(transport="mqtt", count=result.stored)
        for reason, count in result.dropped.items():
            self.counters[f"dropped_{reason}"] += count
            metrics.mqtt_dropped(reason, count)
            logger.warning(
                "mqtt bridge: dropped %d readings that cannot be stored (%s; %d so far)",
                count,
                reason,
                self.counters[f"dropped_{reason}"],
            )
        if result.gone_device_ids:
            self._gone.put(result.gone_device_ids)
        return True

    def _write_loop(self) -> None:
        """The writer thread: stores queued rows (its own database connection), retrying
        with backoff while PostgreSQL is unavailable."""
        while True:
            rows = self._writes.get()
            if rows is None:
                break
            delay = 0.5
            while not self._store(rows):
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
        close_old_connections()

    def _safely(self, what: str, fn: Any) -> None:
        try:
            fn()
        except Exception:
            self.counters["errors"] += 1
            logger.exception("mqtt bridge: %s failed", what)
            close_old_connections()
