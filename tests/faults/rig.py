"""The platform as ``make run`` starts it, on a fault scenario's own servers, with emulated
meters, and what it stored, counted from the database.

Web (uvicorn), a Celery worker, beat and the MQTT bridge run as the Procfile starts them, each
in a process group of its own so that a fault can SIGKILL one as a dying machine would. Meters
are the CPython emulator (``firmware.emulate``): half report over HTTP, half over MQTT, one
reading a second each, with sequence numbers; at the end each writes which numbers it sampled
and which it still holds, so readings lost and duplicated are counted exactly from the
``devices_reading`` table. Ticks are counted from the farm's history (one row per home and
finalized tick).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

from config.db_url import psycopg_conninfo
from config.local_servers import free_port, port_open
from tests.faults.launch import Servers

ROOT = Path(__file__).resolve().parents[2]
KEY_PREFIX = "gridtwin-faults:"
METERS = 4  # half over HTTP, half over MQTT


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


@dataclass
class Counts:
    """What one scenario lost and duplicated; times are seconds after the fault ended."""

    ticks_expected: int = 0
    ticks_lost: int = 0
    ticks_duplicated: int = 0
    readings_sent: int = 0
    readings_lost: int = 0
    readings_duplicated: int = 0
    tick_recovery_s: float | None = None
    reading_recovery_s: float | None = None
    notes: list[str] = field(default_factory=list)


class Watch:
    """Polls the database in a thread: when each new tick and new reading count first appears.

    It reads through outages (a failed poll is simply retried), so the first tick finalized and
    the first reading stored after a fault are seen within a poll interval.
    """

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.ticks: dict[Any, float] = {}
        self.reading_times: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        last = -1
        while not self._stop.wait(0.2):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=1)
                now = time.time()
                for (tick_at,) in conn.execute(
                    "SELECT DISTINCT tick_at FROM devices_homeenergyhistory"
                ).fetchall():
                    self.ticks.setdefault(tick_at, now)
                row = conn.execute("SELECT count(*) FROM devices_reading").fetchone()
                count = int(row[0]) if row else 0
                if count != last:
                    self.reading_times.append((now, count))
                    last = count
            except psycopg.Error:
                conn = None
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def first_tick_after(self, at: float) -> float | None:
        seen = [t for t in self.ticks.values() if t > at]
        return min(seen) - at if seen else None

    def first_reading_after(self, at: float) -> float | None:
        counts = [(t, n) for t, n in self.reading_times if t > at]
        before = [n for t, n in self.reading_times if t <= at]
        floor = before[-1] if before else 0
        seen = [t for t, n in counts if n > floor]
        return min(seen) - at if seen else None


class Rig:
    """One scenario's servers and processes; ``close`` stops all of them, whatever happened."""

    def __init__(self, workdir: Path, *, tick_s: int = 2) -> None:
        self.workdir = workdir
        self.tick_s = tick_s
        self.log = workdir / "processes.log"
        self.servers = Servers()  # stopped by close(); nothing below can fail
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.web_port = free_port()
        metrics = workdir / "metrics"
        metrics.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DEBUG": "false",
            "DATABASE_URL": self.servers.postgres.url,
            "REDIS_URL": self.servers.redis.url,
            "REDIS_STATE_URL": self.servers.redis.url.replace("/0", "/1"),
            "CELERY_BROKER_URL": self.servers.redis.url,
            "CELERY_RESULT_BACKEND": self.servers.redis.url,
            "MQTT_URL": self.servers.mosquitto.url,
            "REDIS_KEY_PREFIX": KEY_PREFIX,
            "TICK_SECONDS": str(tick_s),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        for name in ("GRIDTWIN_TEST_SERVERS", "PYTEST_CURRENT_TEST", "LOG_FORMAT"):
            self.env.pop(name, None)
        self.conninfo = psycopg_conninfo(self.servers.postgres.url)
        self.keys: dict[str, list[dict[str, str]]] = {}
        self.reports: dict[str, Path] = {}
        self.watch = Watch(self.conninfo)

    # -- processes ---------------------------------------------------------------------------

    def _start(self, name: str, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        with self.log.open("ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} start {name}: {' '.join(args)}\n".encode())
            self.processes[name] = subprocess.Popen(
                list(args), cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def seed(self) -> None:
        keys_file = self.workdir / "keys.json"
        subprocess.run(
            [sys.executable, "-m", "tests.faults.seed", str(keys_file), str(METERS)],
            cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        keys = json.loads(keys_file.read_text())
        half = len(keys) // 2
        self.keys = {"http": keys[:half], "mqtt": keys[half:]}

    def web(self) -> None:
        self._start("web", [_bin("uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
                            "--port", str(self.web_port), "--no-access-log", "--ws",
                            "websockets"])  # fmt: skip
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", self.web_port, 0.2):
            if time.monotonic() > deadline:
                raise RuntimeError("the web process did not start")
            time.sleep(0.1)

    def worker(self, prefix: Sequence[str] = (), env: dict[str, str] | None = None) -> None:
        self._start("worker", [*prefix, _bin("celery"), "-A", "celery_app", "worker", "--queues",
                               "default,sim", "--concurrency", "2", "--loglevel", "INFO"],
                    env)  # fmt: skip

    def beat(
        self, name: str = "beat", prefix: Sequence[str] = (), env: dict[str, str] | None = None
    ) -> None:
        schedule = self.workdir / f"{name}-schedule"
        self._start(name, [*prefix, _bin("celery"), "-A", "celery_app", "beat", "--loglevel",
                           "INFO", "--max-interval", "1", "--schedule", str(schedule),
                           "--pidfile", ""], env)  # fmt: skip

    def bridge(self) -> None:
        self._start("mqtt", [sys.executable, "manage.py", "mqtt_bridge"])

    def meters(self) -> None:
        for transport, keys in self.keys.items():
            keys_file = self.workdir / f"keys-{transport}.json"
            keys_file.write_text(json.dumps(keys))
            self.reports[transport] = self.workdir / f"report-{transport}.json"
            self._start(f"meters-{transport}", [
                sys.executable, "-m", "firmware.emulate", "--keys-file", str(keys_file),
                "--server", f"http://127.0.0.1:{self.web_port}", "--transport", transport,
                "--mqtt-host", "127.0.0.1", "--mqtt-port", str(self.servers.mosquitto.port),
                "--mqtt-client-id", "faults-{device_id}", "--interval", "1",
                "--upload-interval", "1", "--report", str(self.reports[transport]),
                "--log-level", "INFO",
            ])  # fmt: skip

    def start(self, *, farm_prefix: Sequence[str] = (), farm_env: dict[str, str] | None = None
              ) -> None:  # fmt: skip
        """Seed, then start every process (the worker and beat behind ``farm_prefix``, with
        ``farm_env``); returns once the farm has finalized a tick and the meters' readings are
        being stored."""
        self.seed()
        self.web()
        self.bridge()
        # The bridge's session must exist before meters publish: until the broker knows of
        # it, nobody is subscribed and a fresh broker drops what arrives.
        self.wait_for(lambda: b"mqtt bridge: connected" in self.log.read_bytes(),
                      "the MQTT bridge", 60)  # fmt: skip
        self.worker(farm_prefix, farm_env)
        self.beat("beat", farm_prefix, farm_env)
        self.meters()
        self.watch.start()
        self.wait_for(lambda: len(self.watch.ticks) >= 1, "the first tick", 90)
        self.wait_for(lambda: self.readings_stored() > 0, "the first reading", 60)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a process's whole group (SIGKILL: as when its machine dies)."""
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def close(self) -> None:
        self.watch.stop()
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)
        self.servers.close()

    # -- observations ------------------------------------------------------------------------

    def wait_for(self, check: Callable[[], bool], what: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout_s:.0f} s\n{self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.env["REDIS_STATE_URL"], socket_timeout=2)

    def tick_running(self) -> bool:
        try:
            return bool(self.redis().exists(f"{KEY_PREFIX}farm:running"))
        except redis.RedisError:
            return False

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]

    def readings_stored(self) -> int:
        try:
            return int(self.query("SELECT count(*) FROM devices_reading")[0][0])
        except psycopg.Error:
            return 0

    def stop_meters(self) -> None:
        """Stop the meters (each sends what it holds first), then let the bridge store what
        the broker still delivers."""
        for transport in self.keys:
            self.kill(f"meters-{transport}", signal.SIGINT)
        for transport, path in self.reports.items():
            if not path.exists():
                raise AssertionError(f"meters over {transport} wrote no report\n{self.log_tail()}")
        expected = sum(
            entry["next_seq"] - entry["first_seq"] - len(entry["buffered"])
            for path in self.reports.values()
            for entry in json.loads(path.read_text())
        )
        # What the broker accepted reaches the database within a few seconds; give it that.
        deadline = time.monotonic() + 20
        while self.readings_stored() < expected and time.monotonic() < deadline:
            time.sleep(0.2)

    def count(self, *, window: tuple[float, float], fault_end: float) -> Counts:
        """Readings and ticks over the run; ticks expected over ``window`` (wall clock)."""
        counts = Counts()
        for transport, path in self.reports.items():
            for entry in json.loads(path.read_text()):
                rows = self.query(
                    "SELECT seq, count(*) FROM devices_reading WHERE device_id = %s GROUP BY seq",
                    int(entry["device_id"]),
                )
                stored = {int(seq): int(n) for seq, n in rows if seq is not None}
                sampled = set(range(entry["first_seq"], entry["next_seq"]))
                unsent = set(entry["buffered"])
                counts.readings_sent += len(sampled - unsent)
                lost = sorted(sampled - unsent - set(stored))
                counts.readings_lost += len(lost)
                if lost:
                    counts.notes.append(
                        f"{transport} meter {entry['device_id']} lost seq {lost[0]}..{lost[-1]} "
                        f"({len(lost)} of {entry['first_seq']}..{entry['next_seq'] - 1})"
                    )
                counts.readings_duplicated += sum(n - 1 for n in stored.values())
                if unsent:
                    counts.notes.append(f"{len(unsent)} readings still buffered at the end")
        history = self.query(
            "SELECT tick_at, count(*) FROM devices_homeenergyhistory GROUP BY tick_at"
        )
        homes = int(self.query("SELECT count(*) FROM devices_home")[0][0])
        counts.ticks_duplicated = sum(max(0, int(n) - homes) for _, n in history)
        start, end = window
        seen = [at for at, when in self.watch.ticks.items() if start <= when <= end]
        counts.ticks_expected = int((end - start) // self.tick_s)
        counts.ticks_lost = max(0, counts.ticks_expected - len(seen))
        counts.tick_recovery_s = self.watch.first_tick_after(fault_end)
        counts.reading_recovery_s = self.watch.first_reading_after(fault_end)
        return counts
