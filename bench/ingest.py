"""`make bench-ingest`: telemetry ingest over HTTP and through the MQTT bridge.

HTTP: uvicorn serving config.asgi:application (started here), 64 concurrent keep-alive
connections, one device per connection, ``POST /api/v1/telemetry`` with 1, 10 and 30 readings
per request (``--http-batches``; the firmware sends up to 30). The live key is written before
the 201 goes out, so the request latency bounds send → visible in ``device:{id}:current``.

MQTT: ``manage.py mqtt_bridge`` (started here) against the Mosquitto at MQTT_URL; publishers
offer ``--mqtt-rate`` readings/s in messages of ``--mqtt-batch`` readings for ``--seconds``
seconds; readings/s counts rows in PostgreSQL. Latency: publish → the bridge's publication of
the device's new ``device:{id}:current`` (written in the same pipeline, just before).

Prints one line per figure. Needs PostgreSQL and Redis (``python -m tests.services -- …``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg

from bench.common import ROOT, bench_env, fresh_database, manage, percentile, uvicorn_server
from config.db_url import psycopg_conninfo

HTTP_CONNECTIONS = 64


def _setup_django(database_url: str, env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


def _provision(count: int) -> list[tuple[int, str]]:
    """A user, a home, ``count`` energy meters with keys: [(device_id, key)]."""
    from accounts.models import User
    from devices import hardware, services
    from devices.models import DeviceKind

    user = User.objects.create_user(username=f"bench-{uuid.uuid4().hex[:6]}", password="x" * 12)
    home = services.home_create(
        owner_id=user.pk, name="bench", latitude=52.5, longitude=13.4, timezone="Europe/Berlin"
    )
    devices = []
    for i in range(count):
        meter = services.device_create(
            user_id=user.pk,
            kind=DeviceKind.ENERGY_METER,
            home_id=home.pk,
            name=f"meter {i}",
            reporting_interval_s=3600,
        )
        key = hardware.device_api_key_rotate(user_id=user.pk, device_id=meter.pk).key
        devices.append((meter.pk, key))
    return devices


def _reading(seq: int, base: datetime) -> dict[str, Any]:
    return {
        "voltage": 230.0 + (seq % 7) * 0.1,
        "current": 1.0 + (seq % 13) * 0.01,
        "power": 220.0 + seq % 500,
        "energy": 1000.0 + seq * 0.05,
        "frequency": 50.0,
        "power_factor": 0.95,
        "timestamp": (base + timedelta(milliseconds=seq)).isoformat().replace("+00:00", "Z"),
        "seq": seq,
    }


def _rows(conninfo: str) -> int:
    """Rows stored so far: the highest id (an index lookup; count(*) would load PostgreSQL
    more and more as the table grows). The bench sends no duplicates, so ids have no gaps."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM devices_reading").fetchone()
        return int(row[0]) if row else 0


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client on one connection (httpx's pool costs more CPU
    than the server at 64 connections, which would measure the client)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
            f"{head}\r\n".encode()
            + body
        )
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        content = await self.reader.readexactly(length)
        return int(status_line.split()[1]), content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _http_run(
    url: str, devices: list[tuple[int, str]], *, batch: int, seconds: float, seq0: int
) -> tuple[int, list[float], dict[int, int]]:
    base = datetime.now(UTC) - timedelta(hours=2)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stored = 0
    deadline = time.monotonic() + seconds
    host, port = url.split("//", 1)[1].split(":")

    async def worker(device_id: int, key: str) -> None:
        nonlocal stored
        seq = seq0
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        client = RawHttp(host, int(port))
        try:
            while time.monotonic() < deadline:
                readings = [_reading(seq + i, base) for i in range(batch)]
                seq += batch
                body = orjson.dumps(readings[0] if batch == 1 else {"readings": readings})
                started = time.perf_counter()
                status, content = await client.post("/api/v1/telemetry", body, headers)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201:
                    stored += orjson.loads(content)["stored"]
        finally:
            await client.close()

    await asyncio.gather(*(worker(d, k) for d, k in devices[:HTTP_CONNECTIONS]))
    return stored, latencies, statuses


def bench_http(
    env: dict[str, str], devices: list[tuple[int, str]], args: argparse.Namespace
) -> None:
    workers = ["--workers", str(args.http_workers)] if args.http_workers > 1 else []
    with uvicorn_server(env, *workers) as url:
        asyncio.run(_http_run(url, devices, batch=1, seconds=2, seq0=3_000_000))  # warm-up
        for n, batch in enumerate(int(b) for b in args.http_batches.split(",")):
            seq0 = n * 1_000_000
            started = time.monotonic()
            cpu = time.process_time()
            stored, latencies, statuses = asyncio.run(
                _http_run(url, devices, batch=batch, seconds=args.http_seconds, seq0=seq0)
            )
            elapsed = time.monotonic() - started
            client_cpu = (time.process_time() - cpu) / elapsed
            ms = [x * 1000 for x in latencies]
            print(
                f"http batch={batch:<3} connections={HTTP_CONNECTIONS} "
                f"uvicorn_workers={args.http_workers}: {stored / elapsed:,.0f} readings/s "
                f"({len(latencies) / elapsed:,.0f} req/s) p50={percentile(ms, 50):.1f} ms "
                f"p99={percentile(ms, 99):.1f} ms (send -> 201, live key already written) "
                f"statuses={statuses} (load generator used {client_cpu:.0%} of a core)",
                flush=True,
            )


# ---------------------------------------------------------------------------------------------
# MQTT
# ---------------------------------------------------------------------------------------------


class LiveWatcher:
    """Follows the bridge's device-channel publications; matches them to publish times."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self.sent: dict[tuple[int, int], float] = {}
        self.latencies: list[float] = []
        self.stop = threading.Event()
        self.pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
        from devices.live import channels  # Django is set up by now

        self.pubsub.psubscribe(channels.device_channel("*"))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            message = self.pubsub.get_message(timeout=0.1)
            if message is None:
                continue
            now = time.perf_counter()
            device_id = int(message["channel"].rsplit(b":", 1)[1])
            seq = orjson.loads(message["data"]).get("seq")
            sent_at = self.sent.pop((device_id, seq), None)
            if sent_at is not None:
                self.latencies.append(now - sent_at)


def bench_mqtt(
    env: dict[str, str], devices: list[tuple[int, str]], conninfo: str, args: argparse.Namespace
) -> None:
    from paho.mqtt import client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    prefix = f"bench-{uuid.uuid4().hex[:8]}/gridtwin/devices"
    bridge = subprocess.Popen(
        [sys.executable, "manage.py", "mqtt_bridge", "--prefix", prefix],
        env={**env, "LOG_LEVEL": "INFO"},
        cwd=ROOT,
    )
    watcher = LiveWatcher(env["REDIS_STATE_URL"])
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    url = env.get("MQTT_URL", "mqtt://127.0.0.1:1883").split("//", 1)[1]
    host, _, port = url.partition(":")
    client.connect(host, int(port or 1883))
    client.loop_start()
    try:
        # Wait until the bridge stores a probe reading (it has subscribed by then).
        probe_device, probe_key = devices[0]
        probe_base = datetime.now(UTC) - timedelta(hours=5)
        base = datetime.now(UTC) - timedelta(hours=1)
        deadline = time.monotonic() + 30
        seq = 5_000_000
        rows_at_start = _rows(conninfo)
        while _rows(conninfo) == rows_at_start:
            if time.monotonic() > deadline or bridge.poll() is not None:
                raise RuntimeError("the bridge did not start")
            body = {**_reading(seq, probe_base), "key": probe_key}
            client.publish(f"{prefix}/{probe_device}/telemetry", orjson.dumps(body))
            seq += 1
            time.sleep(0.3)
        rows_before = _rows(conninfo)
        batch = args.mqtt_batch
        per_second = args.mqtt_rate / batch  # messages per second offered
        seqs = dict.fromkeys((d for d, _ in devices), 0)
        sent_readings = 0
        started = time.perf_counter()
        next_at = started
        i = 0
        samples: list[tuple[float, int]] = []
        while (now := time.perf_counter()) - started < args.seconds:
            if now < next_at:
                time.sleep(min(next_at - now, 0.002))
                continue
            device_id, key = devices[i % len(devices)]
            i += 1
            first = seqs[device_id]
            seqs[device_id] = first + batch
            readings = [_reading(first + j, base) for j in range(batch)]
            payload = orjson.dumps({"readings": readings, "key": key})
            watcher.sent[(device_id, first + batch - 1)] = time.perf_counter()
            client.publish(f"{prefix}/{device_id}/telemetry", payload)
            sent_readings += batch
            next_at += 1 / per_second
            if i % int(per_second) == 0:
                samples.append((now - started, _rows(conninfo) - rows_before))
        offered_s = time.perf_counter() - started
        stored_at_end = _rows(conninfo) - rows_before
        drain_deadline = time.perf_counter() + 60
        while (
            _rows(conninfo) - rows_before < sent_readings and time.perf_counter() < drain_deadline
        ):
            time.sleep(0.2)
        drained_s = time.perf_counter() - started
        stored = _rows(conninfo) - rows_before
        time.sleep(1)
        watcher.stop.set()
        ms = [x * 1000 for x in watcher.latencies]
        print(
            f"mqtt batch={batch} devices={len(devices)} offered={sent_readings / offered_s:,.0f} "
            f"readings/s for {offered_s:.0f} s: stored {stored_at_end / offered_s:,.0f} readings/s "
            f"during the run; all {stored:,}/{sent_readings:,} stored after {drained_s:.1f} s "
            f"({stored / drained_s:,.0f} readings/s overall)",
            flush=True,
        )
        print(
            f"mqtt publish -> live key: n={len(ms)} p50={percentile(ms, 50):.1f} ms "
            f"p99={percentile(ms, 99):.1f} ms max={max(ms, default=float('nan')):.1f} ms",
            flush=True,
        )
        lag = [
            (t, round((t * args.mqtt_rate) - n)) for t, n in samples[:: max(1, len(samples) // 6)]
        ]
        print(f"mqtt backlog (s, readings not yet in PostgreSQL): {lag}", flush=True)
    finally:
        client.disconnect()
        client.loop_stop()
        bridge.terminate()
        try:
            bridge.wait(timeout=15)
        except subprocess.TimeoutExpired:
            bridge.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=("http", "mqtt"), default=None)
    parser.add_argument("--http-batches", default="1,10,30", help="readings per request")
    parser.add_argument("--http-seconds", type=float, default=15)
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--mqtt-rate", type=int, default=22_000)
    parser.add_argument("--mqtt-batch", type=int, default=30)
    parser.add_argument("--mqtt-devices", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    database_url = fresh_database("gridtwin_bench_ingest")
    env = bench_env(
        database_url,
        TELEMETRY_RATE="1000000/m",
        CELERY_TASK_ALWAYS_EAGER="false",
        CONN_MAX_AGE="600",
    )
    manage(env, "migrate", "--noinput", "-v", "0")
    _setup_django(database_url, env)
    devices = _provision(HTTP_CONNECTIONS + args.mqtt_devices)  # separate sets per phase
    from django.db import connections

    connections.close_all()
    conninfo = psycopg_conninfo(database_url)
    print(f"bench-ingest: {os.cpu_count()} CPUs, PostgreSQL {database_url.rsplit('/', 1)[0]}/…")
    if args.only in (None, "http"):
        bench_http(env, devices[:HTTP_CONNECTIONS], args)
    if args.only in (None, "mqtt"):
        bench_mqtt(env, devices[HTTP_CONNECTIONS:], conninfo, args)


if __name__ == "__main__":
    main()
