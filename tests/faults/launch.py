"""The fault suite's own PostgreSQL, Redis and Mosquitto, which it stops and restarts.

Each server listens on a free port fixed for the session and keeps its data directory across
restarts, as a server on a machine would: PostgreSQL its cluster, Mosquitto its persistence
file (as ``deploy/mosquitto/mosquitto.conf`` configures it). Redis runs as the compose file
runs it, in memory only: a restart loses every key, the broker's queues included.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from config.local_servers import free_port, mosquitto_binary, port_open, redis_server_args
from tests.servers import _pg_bindir, _unprivileged


def _wait(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout_s:.0f} s")


def _end(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Postgres:
    """A cluster in a temporary directory; ``stop`` is a fast shutdown (connections cut)."""

    def __init__(self, root: Path) -> None:
        self.bindir = _pg_bindir()
        self.prefix, uid, gid = _unprivileged()
        self.workdir = root / "pg"
        self.workdir.mkdir()
        os.chmod(self.workdir, 0o700)
        os.chown(self.workdir, uid, gid)
        self.datadir = self.workdir / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/gridtwin"
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "-E",
                  "UTF8", "--no-locale", "--no-sync")  # fmt: skip
        self.start()
        subprocess.run(
            [*self.prefix, str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p",
             str(self.port), "-U", "postgres", "gridtwin"],
            check=True, cwd=self.workdir,
        )  # fmt: skip

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.prefix, str(self.bindir / tool), *args], check=True, cwd=self.workdir,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.workdir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l",
                  str(self.workdir / "log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        subprocess.run(
            [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m",
             "immediate", "stop"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.workdir,
        )  # fmt: skip


class Redis:
    """In memory, never evicting (the compose file's Redis)."""

    def __init__(self, root: Path) -> None:
        self.workdir = root / "redis"
        self.workdir.mkdir()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            redis_server_args(self.port, str(self.workdir)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait(lambda: port_open("127.0.0.1", self.port, 0.2), "redis-server")

    def stop(self) -> None:
        _end(self.process)

    close = stop


class Mosquitto:
    """Anonymous, persistent (QoS 1 sessions and their queued messages survive a restart)."""

    def __init__(self, root: Path) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("the fault suite needs mosquitto (apt-get install mosquitto)")
        self.binary = binary
        self.workdir = root / "mosquitto"
        self.workdir.mkdir()
        if os.geteuid() == 0:
            # Started as root, mosquitto runs as its own account: it must be able to write its
            # persistence file, or a restart silently forgets every session.
            try:
                account = pwd.getpwnam("mosquitto")
            except KeyError:
                pass
            else:
                os.chown(self.workdir, account.pw_uid, account.pw_gid)
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.conf = self.workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.workdir}/\nmax_queued_messages 100000\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait(lambda: port_open("127.0.0.1", self.port, 0.2), "mosquitto")

    def stop(self) -> None:
        _end(self.process)

    close = stop


class Servers:
    """The three servers of one scenario, in a temporary directory removed by ``close``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gridtwin-faults-"))
        os.chmod(self.root, 0o755)
        self.started: list[Postgres | Redis | Mosquitto] = []
        try:
            self.postgres = Postgres(self.root)
            self.started.append(self.postgres)
            self.redis = Redis(self.root)
            self.started.append(self.redis)
            self.mosquitto = Mosquitto(self.root)
            self.started.append(self.mosquitto)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for server in reversed(self.started):
            server.close()
        shutil.rmtree(self.root, ignore_errors=True)
