"""Getting readings to the server: an offline ring buffer, backoff, HTTP and MQTT transports.

The :class:`Uploader` owns the buffer and the retry policy; a transport only sends one
batch and says what the server answered (an HTTP status; MQTT reports 201 once a publish
went out, and raises ``OSError`` when it could not).

Server answers (``POST /api/v1/telemetry``):

=========  ==================================================================================
2xx        stored: drop the batch from the buffer
400        malformed: split the batch to find the bad reading, then log and drop it
401 / 403  bad key: stop uploading and report (``Uploader.unauthorized``)
413        too big: split the batch, and never send batches that large again
429        throttled: wait for ``Retry-After`` seconds if given, else back off
5xx, other keep everything, back off exponentially with jitter (capped)
=========  ==================================================================================
"""

from firmware import platform
from firmware.platform import json

try:
    from typing import Any
except ImportError:
    pass

TELEMETRY_PATH = "/api/v1/telemetry"

# Uploader.flush outcomes
IDLE = "idle"  # nothing to send
WAITING = "waiting"  # not due yet (upload interval or backoff)
OK = "ok"
REJECTED = "rejected"
RETRY = "retry"
THROTTLED = "throttled"
UNAUTHORIZED = "unauthorized"


class RingBuffer:
    """Fixed-capacity FIFO; when full, appending overwrites the oldest item.

    Keeps the newest readings through a long outage; ``dropped`` counts what was lost.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._items: list = [None] * capacity
        self._head = 0  # index of the oldest item
        self._size = 0
        self.dropped = 0

    def __len__(self) -> int:
        return self._size

    def append(self, item: Any) -> bool:
        """Add ``item``; True when that pushed out the oldest one."""
        tail = (self._head + self._size) % self.capacity
        self._items[tail] = item
        if self._size < self.capacity:
            self._size += 1
            return False
        self._head = (self._head + 1) % self.capacity
        self.dropped += 1
        return True

    def peek(self, n: int) -> list:
        """Up to ``n`` oldest items, oldest first, without removing them."""
        n = min(n, self._size)
        return [self._items[(self._head + i) % self.capacity] for i in range(n)]

    def drop(self, n: int) -> None:
        """Remove the ``n`` oldest items."""
        n = min(n, self._size)
        for i in range(n):
            self._items[(self._head + i) % self.capacity] = None
        self._head = (self._head + n) % self.capacity
        self._size -= n

    def clear(self) -> None:
        self.drop(self._size)


class Backoff:
    """Exponential backoff: ``base_s * factor**(n-1)`` capped at ``cap_s``, minus jitter.

    Jitter takes off up to ``jitter`` of the delay (``rand`` in [0, 1)), so many devices
    that failed together do not retry together, and the cap is never exceeded.
    """

    def __init__(
        self,
        base_s: float = 1.0,
        factor: float = 2.0,
        cap_s: float = 300.0,
        jitter: float = 0.5,
        rand: Any = None,
    ) -> None:
        self.base_s = base_s
        self.factor = factor
        self.cap_s = cap_s
        self.jitter = jitter
        self.rand = rand if rand is not None else platform.rand
        self.attempts = 0

    def nominal(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based), without jitter."""
        if attempt < 1:
            return 0.0
        delay = self.base_s
        for _ in range(attempt - 1):
            delay *= self.factor
            if delay >= self.cap_s:
                return self.cap_s
        return min(delay, self.cap_s)

    def next_delay(self) -> float:
        """Count one more failure and return how long to wait."""
        self.attempts += 1
        delay = self.nominal(self.attempts)
        return delay * (1.0 - self.jitter * self.rand())

    def reset(self) -> None:
        self.attempts = 0


def parse_retry_after(value: Any) -> float | None:
    """Seconds from a ``Retry-After`` header; None when absent or an HTTP-date."""
    if value is None:
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def telemetry_body(readings: list) -> dict:
    """One reading as itself, several as ``{"readings": [...]}``."""
    if len(readings) == 1:
        return readings[0]
    return {"readings": readings}


class HttpTransport:
    """``POST {server}/api/v1/telemetry`` with the device key in ``X-API-Key``."""

    def __init__(self, server: str, api_key: str, timeout_s: float = 10.0, request: Any = None):
        self.url = server.rstrip("/") + TELEMETRY_PATH
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.request = request if request is not None else platform.http_request

    def send(self, readings: list) -> tuple:
        """Returns ``(status, retry_after_s, body)``; raises ``OSError`` on network failure."""
        resp = self.request(
            "POST",
            self.url,
            headers={"X-API-Key": self.api_key},
            body=telemetry_body(readings),
            timeout_s=self.timeout_s,
        )
        return resp.status, parse_retry_after(resp.headers.get("retry-after")), resp.body


class Uploader:
    """Buffers readings and sends them in batches, at most every ``upload_interval_s``."""

    def __init__(
        self,
        transport: Any,
        *,
        capacity: int = 500,
        max_batch: int = 50,
        upload_interval_s: float = 10.0,
        backoff: Backoff | None = None,
        clock: Any = None,
        max_requests_per_flush: int = 4,
    ) -> None:
        self.transport = transport
        self.buffer = RingBuffer(capacity)
        self.max_batch = max_batch
        self.upload_interval_s = upload_interval_s
        self.backoff = backoff if backoff is not None else Backoff()
        self.clock = clock if clock is not None else platform.monotonic_s
        self.max_requests_per_flush = max_requests_per_flush
        self.next_attempt_at = 0.0
        self.unauthorized = False
        self._limit = max_batch  # current batch size (halved on 400/413, regrown on success)
        self._ceiling = max_batch  # largest batch size the server has not refused as too big
        # counters, in readings unless named otherwise
        self.sent = 0
        self.acked = 0
        self.rejected = 0
        self.errors = 0  # failed requests (network, 5xx, 429)
        self.requests = 0
        self.last_status: int | None = None
        self.last_error: str | None = None

    @property
    def dropped(self) -> int:
        """Readings lost because the buffer overflowed while offline."""
        return self.buffer.dropped

    def enqueue(self, reading: dict) -> None:
        if self.buffer.append(reading):
            platform.log("warning", "offline buffer full: dropped the oldest reading")

    def due(self, now: float | None = None) -> bool:
        if now is None:
            now = self.clock()
        return not self.unauthorized and len(self.buffer) > 0 and now >= self.next_attempt_at

    def _retry_later(self, now: float, retry_after_s: float | None) -> None:
        delay = self.backoff.next_delay()
        if retry_after_s is not None:
            delay = retry_after_s
        self.next_attempt_at = now + delay

    def flush(self, now: float | None = None) -> str:
        """Send what is due; returns the outcome of the last request (or IDLE / WAITING)."""
        if now is None:
            now = self.clock()
        if self.unauthorized:
            return UNAUTHORIZED
        if len(self.buffer) == 0:
            return IDLE
        if now < self.next_attempt_at:
            return WAITING
        outcome = IDLE
        for _ in range(self.max_requests_per_flush):
            if len(self.buffer) == 0:
                break
            batch = self.buffer.peek(self._limit)
            self.requests += 1
            try:
                status, retry_after_s, body = self.transport.send(batch)
            except OSError as exc:
                self.errors += 1
                self.last_status = None
                self.last_error = "network: %r" % (exc,)
                self._retry_later(now, None)
                platform.log("warning", "upload failed, retrying later: %r" % (exc,))
                return RETRY
            self.sent += len(batch)
            self.last_status = status
            if 200 <= status < 300:
                self.buffer.drop(len(batch))
                self.acked += len(batch)
                self.backoff.reset()
                self._limit = min(self._ceiling, self._limit * 2)
                outcome = OK
            elif status in (400, 413):
                if status == 413:
                    self._ceiling = max(1, len(batch) // 2)
                if len(batch) > 1:
                    self._limit = max(1, len(batch) // 2)  # bisect to isolate the culprit
                    outcome = RETRY
                    continue
                self.buffer.drop(1)
                self.rejected += 1
                self.last_error = "rejected (%d): %s" % (status, _short(body))
                platform.log(
                    "error",
                    "server rejected reading seq=%s (%d): %s"
                    % (batch[0].get("seq"), status, _short(body)),
                )
                outcome = REJECTED
            elif status in (401, 403):
                self.unauthorized = True
                self.last_error = "unauthorized (%d): check the device key" % status
                platform.log(
                    "error", "server refused the device key (%d); uploads stopped" % status
                )
                return UNAUTHORIZED
            elif status == 429:
                self.errors += 1
                self.last_error = "throttled"
                self._retry_later(now, retry_after_s)
                return THROTTLED
            else:
                self.errors += 1
                self.last_error = "server error %d" % status
                self._retry_later(now, None)
                platform.log("warning", "upload got %d, retrying later" % status)
                return RETRY
        # Backlog left: keep going on the next tick; otherwise wait for the next interval.
        self.next_attempt_at = now if len(self.buffer) else now + self.upload_interval_s
        return outcome


def _short(body: Any, limit: int = 200) -> str:
    if body is None:
        return ""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode()
        except UnicodeError:
            return repr(body[:limit])
    text = str(body)
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------
# MQTT
# ---------------------------------------------------------------------------------------------


def topic(device_id: Any, leaf: str) -> str:
    return "gridtwin/devices/%s/%s" % (device_id, leaf)


class MqttLink:
    """One MQTT session: telemetry and status out, commands in, acks out.

    ``client_factory()`` returns an ``umqtt.simple.MQTTClient``-like object (``platform.
    mqtt_client`` or a test double). The last will marks the device offline (retained);
    ``on_command(message) -> ack`` answers commands and the ack goes to ``.../acks``.
    Usable as an :class:`Uploader` transport.
    """

    def __init__(
        self,
        *,
        client_factory: Any,
        device_id: Any,
        api_key: str,
        on_command: Any = None,
        clock: Any = None,
        backoff: Backoff | None = None,
        ping_interval_s: float = 30.0,
    ) -> None:
        self.client_factory = client_factory
        self.device_id = device_id
        self.api_key = api_key
        self.on_command = on_command
        self.clock = clock if clock is not None else platform.monotonic_s
        self.backoff = backoff if backoff is not None else Backoff()
        self.ping_interval_s = ping_interval_s
        self.client: Any = None
        self.connected = False
        self.next_connect_at = 0.0
        self.last_ping_at = 0.0
        self.commands = 0
        self.errors = 0
        self.after_ack: Any = None  # called once an ack went out (the node reboots there)
        self.telemetry_topic = topic(device_id, "telemetry")
        self.status_topic = topic(device_id, "status")
        self.commands_topic = topic(device_id, "commands")
        self.acks_topic = topic(device_id, "acks")

    def _status_payload(self, status: str) -> bytes:
        return json.dumps({"status": status, "key": self.api_key}).encode()

    def connect(self) -> bool:
        """Connect, set the last will, subscribe to commands and announce ``online``."""
        now = self.clock()
        try:
            client = self.client_factory()
            client.set_callback(self._on_message)
            client.set_last_will(
                self.status_topic, self._status_payload("offline"), retain=True, qos=1
            )
            client.connect()
            client.subscribe(self.commands_topic, qos=1)
            client.publish(self.status_topic, self._status_payload("online"), retain=True)
        except OSError as exc:
            self.errors += 1
            self.connected = False
            self.next_connect_at = now + self.backoff.next_delay()
            platform.log("warning", "mqtt connect failed: %r" % (exc,))
            return False
        self.client = client
        self.connected = True
        self.last_ping_at = now
        self.backoff.reset()
        platform.log("info", "mqtt connected as device %s" % (self.device_id,))
        return True

    def _lost(self, exc: Any) -> None:
        self.errors += 1
        self.connected = False
        self.next_connect_at = self.clock() + self.backoff.next_delay()
        platform.log("warning", "mqtt connection lost: %r" % (exc,))
        try:
            if self.client is not None:
                self.client.disconnect()
        except OSError:
            pass

    def poll(self, now: float | None = None) -> None:
        """Reconnect when due, deliver pending commands, keep the session alive."""
        if now is None:
            now = self.clock()
        if not self.connected and (now < self.next_connect_at or not self.connect()):
            return
        try:
            self.client.check_msg()
            if now - self.last_ping_at >= self.ping_interval_s:
                self.client.ping()
                self.last_ping_at = now
        except OSError as exc:
            self._lost(exc)

    def send(self, readings: list) -> tuple:
        """Publish telemetry (Uploader transport); raises ``OSError`` when offline.

        QoS 1: ``publish`` returns once the broker confirmed the message (PUBACK), so the
        uploader drops a batch from its buffer only after the broker holds it; a batch whose
        confirmation never came is sent again (the server ignores a repeated ``seq``).
        """
        if not self.connected:
            raise OSError("mqtt not connected")
        payload = dict(telemetry_body(readings))
        payload["key"] = self.api_key
        try:
            self.client.publish(self.telemetry_topic, json.dumps(payload).encode(), qos=1)
        except OSError as exc:
            self._lost(exc)
            raise
        return 201, None, b""

    def publish_ack(self, ack: dict) -> bool:
        payload = dict(ack)
        payload["key"] = self.api_key
        try:
            self.client.publish(self.acks_topic, json.dumps(payload).encode())
        except OSError as exc:
            self._lost(exc)
            return False
        return True

    def _on_message(self, topic_name: Any, msg: Any) -> None:
        try:
            message = json.loads(msg)
        except ValueError:
            platform.log("warning", "ignoring non-JSON command: %r" % (msg[:80],))
            return
        if not isinstance(message, dict) or self.on_command is None:
            platform.log("warning", "ignoring command that is not an object: %r" % (msg[:80],))
            return
        self.commands += 1
        ack = self.on_command(message)
        if ack is not None and self.publish_ack(ack) and self.after_ack is not None:
            self.after_ack(ack)

    def close(self) -> None:
        """Announce ``offline`` (retained) and disconnect."""
        if self.client is None or not self.connected:
            return
        try:
            self.client.publish(self.status_topic, self._status_payload("offline"), retain=True)
            self.client.disconnect()
        except OSError:
            pass
        self.connected = False
