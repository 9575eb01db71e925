"""Offline ring buffer, backoff schedule, status-code handling and MQTT publishing."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from firmware import uploader as up


def reading(seq: int) -> dict[str, Any]:
    return {
        "voltage": 230.0,
        "current": 1.0,
        "power": 230.0,
        "energy": 1000 + seq,
        "frequency": 50.0,
        "power_factor": 1.0,
        "timestamp": f"2026-11-23T13:00:{seq:02d}Z",
        "seq": seq,
    }


# --- ring buffer -------------------------------------------------------------------------------


def test_ring_buffer_keeps_newest_on_overflow() -> None:
    buf = up.RingBuffer(3)
    assert [buf.append(i) for i in range(5)] == [False, False, False, True, True]
    assert len(buf) == 3
    assert buf.dropped == 2
    assert buf.peek(10) == [2, 3, 4]
    buf.drop(2)
    assert buf.peek(10) == [4]
    buf.append(5)
    buf.append(6)
    buf.append(7)  # wraps around the end of the storage and overflows again
    assert buf.peek(3) == [5, 6, 7]
    assert buf.dropped == 3


def test_ring_buffer_peek_does_not_remove_and_drop_is_bounded() -> None:
    buf = up.RingBuffer(4)
    for i in range(3):
        buf.append(i)
    assert buf.peek(2) == [0, 1]
    assert len(buf) == 3
    buf.drop(10)
    assert len(buf) == 0 and buf.peek(5) == []
    with pytest.raises(ValueError):
        up.RingBuffer(0)


# --- backoff -----------------------------------------------------------------------------------


def test_backoff_schedule_doubles_up_to_the_cap() -> None:
    b = up.Backoff(base_s=1, factor=2, cap_s=300, jitter=0.0)
    delays = [b.next_delay() for _ in range(12)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    b.reset()
    assert b.next_delay() == 1


def test_backoff_jitter_stays_within_bounds() -> None:
    lo = up.Backoff(base_s=10, cap_s=300, jitter=0.5, rand=lambda: 0.999999)
    hi = up.Backoff(base_s=10, cap_s=300, jitter=0.5, rand=lambda: 0.0)
    for attempt in range(1, 10):
        nominal = lo.nominal(attempt)
        assert nominal * 0.5 <= lo.next_delay() <= nominal
        assert hi.next_delay() == nominal <= 300


def test_retry_after_parsing() -> None:
    assert up.parse_retry_after("7") == 7
    assert up.parse_retry_after(None) is None
    assert up.parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None


# --- uploader vs a local HTTP server -------------------------------------------------------------


class Server:
    """Answers POST /api/v1/telemetry with the scripted statuses, recording each body."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str]]] = []
        self.requests: list[tuple[str, str | None, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                outer.requests.append((self.path, self.headers.get("X-API-Key"), body))
                status, headers = outer.script.pop(0) if outer.script else (201, {})
                payload = json.dumps({"status": status}).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def seqs(body: Any) -> list[int]:
    return [r["seq"] for r in body["readings"]] if "readings" in body else [body["seq"]]


def make_uploader(url: str, **kwargs: Any) -> up.Uploader:
    transport = up.HttpTransport(url, "device-key-1", timeout_s=5)
    backoff = up.Backoff(base_s=1, cap_s=300, jitter=0.0)
    return up.Uploader(
        transport, backoff=backoff, upload_interval_s=10, clock=lambda: 0.0, **kwargs
    )


def test_uploader_handles_each_status_code(server: Server) -> None:
    server.script = [
        (201, {}),  # r1 stored
        (400, {}),  # r2 malformed: dropped, never retried
        (413, {}),  # [r3, r4] too big: split
        (429, {"Retry-After": "7"}),  # r3 alone: throttled for 7 s
        (500, {}),  # r3: server error, back off
        (201, {}),  # r3 stored
        (201, {}),  # r4 stored
        (401, {}),  # r5: bad key, stop
    ]
    u = make_uploader(server.url)

    u.enqueue(reading(1))
    assert u.flush(0) == up.OK
    assert (u.acked, len(u.buffer)) == (1, 0)
    assert u.next_attempt_at == 10  # next upload one interval later

    u.enqueue(reading(2))
    assert u.flush(5) == up.WAITING  # not due yet: no request
    assert u.flush(10) == up.REJECTED
    assert (u.rejected, len(u.buffer)) == (1, 0)

    u.enqueue(reading(3))
    u.enqueue(reading(4))
    assert u.flush(20) == up.THROTTLED
    assert u.next_attempt_at == 27  # Retry-After respected
    assert u.flush(26) == up.WAITING
    assert u.flush(27) == up.RETRY  # 500
    assert len(u.buffer) == 2  # kept in the buffer
    assert u.next_attempt_at == 27 + 2  # second failure in a row: 2 s
    assert u.flush(29) == up.OK
    assert (u.acked, len(u.buffer)) == (3, 0)
    assert u.backoff.attempts == 0

    u.enqueue(reading(5))
    assert u.flush(100) == up.UNAUTHORIZED
    assert u.unauthorized
    assert u.flush(1000) == up.UNAUTHORIZED  # stopped: no more requests
    assert len(u.buffer) == 1

    sent = [(path, key, seqs(body)) for path, key, body in server.requests]
    assert sent == [
        ("/api/v1/telemetry", "device-key-1", [1]),
        ("/api/v1/telemetry", "device-key-1", [2]),
        ("/api/v1/telemetry", "device-key-1", [3, 4]),
        ("/api/v1/telemetry", "device-key-1", [3]),
        ("/api/v1/telemetry", "device-key-1", [3]),
        ("/api/v1/telemetry", "device-key-1", [3]),
        ("/api/v1/telemetry", "device-key-1", [4]),
        ("/api/v1/telemetry", "device-key-1", [5]),
    ]
    body = server.requests[2][2]
    assert set(body) == {"readings"}
    assert set(server.requests[0][2]) == {
        "voltage", "current", "power", "energy", "frequency", "power_factor", "timestamp", "seq",
    }  # fmt: skip


def test_uploader_bisects_a_batch_to_drop_only_the_bad_reading(server: Server) -> None:
    bad = 3

    def verdict(seq_list: list[int]) -> int:
        return 400 if bad in seq_list else 201

    # Decide each answer from the request itself: the server rejects whole batches.
    class Scripted(up.HttpTransport):
        def send(self, readings: list[Any]) -> tuple[Any, ...]:
            server.script.append((verdict([r["seq"] for r in readings]), {}))
            return super().send(readings)

    u = up.Uploader(
        Scripted(server.url, "k"),
        max_batch=4,
        clock=lambda: 0.0,
        max_requests_per_flush=10,
        backoff=up.Backoff(jitter=0.0),
    )
    for s in range(1, 5):
        u.enqueue(reading(s))
    for t in range(5):
        u.flush(t)
    assert len(u.buffer) == 0
    assert (u.acked, u.rejected) == (3, 1)
    accepted = [seqs(b) for _p, _k, b in server.requests if bad not in seqs(b)]
    assert sorted(s for batch in accepted for s in batch) == [1, 2, 4]


def test_uploader_network_error_keeps_readings_and_backs_off() -> None:
    u = make_uploader("http://127.0.0.1:9")  # discard port: connection refused
    u.enqueue(reading(1))
    assert u.flush(0) == up.RETRY
    assert len(u.buffer) == 1 and u.errors == 1
    assert u.next_attempt_at == 1
    assert u.flush(1) == up.RETRY
    assert u.next_attempt_at == 1 + 2


def test_uploader_overflow_while_offline_keeps_newest() -> None:
    u = make_uploader("http://127.0.0.1:9", capacity=3)
    for s in range(1, 6):
        u.enqueue(reading(s))
    assert [r["seq"] for r in u.buffer.peek(10)] == [3, 4, 5]
    assert u.dropped == 2


# --- MQTT ---------------------------------------------------------------------------------------


class FakeMQTT:
    """The umqtt.simple.MQTTClient interface, recording what the device does."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any], bool]] = []
        self.subscribed: list[str] = []
        self.will: tuple[str, dict[str, Any], bool] | None = None
        self.cb: Any = None
        self.inbox: list[tuple[bytes, bytes]] = []
        self.fail_publish = False
        self.qos: dict[str, list[int]] = {}

    def set_callback(self, cb: Any) -> None:
        self.cb = cb

    def set_last_will(self, topic: str, msg: bytes, retain: bool = False, qos: int = 0) -> None:
        self.will = (topic, json.loads(msg), retain)

    def connect(self) -> None:
        pass

    def subscribe(self, topic: str, qos: int = 0) -> None:
        self.subscribed.append(topic)

    def publish(self, topic: str, msg: bytes, retain: bool = False, qos: int = 0) -> None:
        if self.fail_publish:
            raise OSError("broken pipe")
        self.published.append((topic, json.loads(msg), retain))
        self.qos.setdefault(topic, []).append(qos)

    def check_msg(self) -> None:
        while self.inbox:
            self.cb(*self.inbox.pop(0))

    def ping(self) -> None:
        pass

    def disconnect(self) -> None:
        pass


def test_mqtt_link_status_will_telemetry_and_acks() -> None:
    client = FakeMQTT()
    link = up.MqttLink(
        client_factory=lambda: client,
        device_id="42",
        api_key="k42",
        clock=lambda: 0.0,
        on_command=lambda m: {"id": m["id"], "status": "acknowledged", "result": {}},
    )
    assert link.connect()
    assert client.will == ("gridtwin/devices/42/status", {"status": "offline", "key": "k42"}, True)
    assert client.subscribed == ["gridtwin/devices/42/commands"]
    assert client.published[0] == (
        "gridtwin/devices/42/status",
        {"status": "online", "key": "k42"},
        True,
    )

    u = up.Uploader(link, clock=lambda: 0.0)
    u.enqueue(reading(1))
    assert u.flush(0) == up.OK
    topic, payload, _ = client.published[1]
    assert topic == "gridtwin/devices/42/telemetry"
    assert payload["seq"] == 1 and payload["key"] == "k42"
    u.enqueue(reading(2))
    u.enqueue(reading(3))
    u.flush(10)
    assert [r["seq"] for r in client.published[2][1]["readings"]] == [2, 3]
    assert client.published[2][1]["key"] == "k42"
    # Telemetry waits for the broker's PUBACK: a batch leaves the buffer only once confirmed.
    assert client.qos["gridtwin/devices/42/telemetry"] == [1, 1]

    client.inbox.append((b"gridtwin/devices/42/commands", b'{"id": "c1", "command": "ping"}'))
    client.inbox.append((b"gridtwin/devices/42/commands", b"not json"))
    link.poll(20)
    assert client.published[3] == (
        "gridtwin/devices/42/acks",
        {"id": "c1", "status": "acknowledged", "result": {}, "key": "k42"},
        False,
    )
    assert len(client.published) == 4

    link.close()
    assert client.published[-1][1] == {"status": "offline", "key": "k42"}


def test_mqtt_publish_failure_keeps_readings_and_reconnects() -> None:
    client = FakeMQTT()
    now = [0.0]
    link = up.MqttLink(
        client_factory=lambda: client,
        device_id="7",
        api_key="k",
        clock=lambda: now[0],
        backoff=up.Backoff(jitter=0.0),
    )
    link.connect()
    u = up.Uploader(link, clock=lambda: now[0], backoff=up.Backoff(jitter=0.0))
    u.enqueue(reading(1))
    client.fail_publish = True
    assert u.flush(0) == up.RETRY
    assert len(u.buffer) == 1 and not link.connected
    client.fail_publish = False
    now[0] = 1.0
    link.poll(1.0)  # reconnect after the 1 s backoff
    assert link.connected
    assert u.flush(1.0) == up.OK
    assert len(u.buffer) == 0
