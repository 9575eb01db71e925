"""Run a command (pytest, a benchmark) with real PostgreSQL, Redis and an MQTT broker.

Uses the servers at ``DATABASE_URL`` / ``REDIS_URL`` / ``MQTT_URL`` when they answer
(defaults: the local ones on their standard ports), otherwise starts throwaway ones and
stops them afterwards. Tests get Redis databases 12 and 13, benchmarks 14 and 15, each its
own: a developer's data in 0-11 is never flushed. For pytest the prepared environment is
recorded in ``PREPARED_ENV``; the suite refuses to run without it (tests/conftest.py).
Usage: ``python -m tests.with_servers -- pytest -q``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from config.local_servers import mqtt_host_port, port_open
from tests.servers import (
    Server,
    ServerUnavailable,
    postgres_reachable,
    redis_reachable,
    start_mosquitto,
    start_postgres,
    start_redis,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/gridtwin"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
# Broker and results in the first database, live state and caches in the second.
TEST_REDIS_DB = 12
BENCH_REDIS_DB = 14
#: Set by this launcher for pytest, read by tests/conftest.py: the servers and databases it
#: prepared (JSON). The suite flushes those Redis databases and purges that Celery broker, so
#: it runs only where this launcher pointed it.
PREPARED_ENV = "GRIDTWIN_TEST_SERVERS"
#: The settings the suite checks against PREPARED_ENV before it touches anything.
PREPARED_SETTINGS = ("REDIS_URL", "REDIS_STATE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")


def _with_db(url: str, db: int) -> str:
    from config.redis_url import redis_url_with_db

    return redis_url_with_db(url, db)


def prepare_environment(redis_db: int = TEST_REDIS_DB) -> list[Server]:
    """Point DATABASE_URL, REDIS_URL (databases ``redis_db`` and the next) and MQTT_URL at
    reachable servers; return the ones started here."""
    started: list[Server] = []
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith("postgres") or not postgres_reachable(database_url):
        print(f"tests: no PostgreSQL at {database_url}; starting a throwaway one", flush=True)
        server = start_postgres()
        started.append(server)
        database_url = server.url
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if not redis_reachable(redis_url):
        print(f"tests: no Redis at {redis_url}; starting a throwaway one", flush=True)
        server = start_redis()
        started.append(server)
        redis_url = server.url
    mqtt_url = os.environ.get("MQTT_URL") or DEFAULT_MQTT_URL
    if not port_open(*mqtt_host_port(mqtt_url)):
        print(f"tests: no MQTT broker at {mqtt_url}; starting a throwaway one", flush=True)
        server = start_mosquitto()
        started.append(server)
        mqtt_url = server.url
    os.environ["MQTT_URL"] = mqtt_url
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = _with_db(redis_url, redis_db)
    os.environ["REDIS_STATE_URL"] = _with_db(redis_url, redis_db + 1)
    # Never a broker or result backend named elsewhere (the shell, a .env file).
    os.environ["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]
    os.environ["CELERY_RESULT_BACKEND"] = os.environ["REDIS_URL"]
    print(
        f"tests: PostgreSQL {database_url}, Redis {os.environ['REDIS_URL']}, MQTT {mqtt_url}",
        flush=True,
    )
    return started


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        command = ["pytest"]
    is_pytest = command[0] == "pytest"
    try:
        started = prepare_environment(TEST_REDIS_DB if is_pytest else BENCH_REDIS_DB)
    except ServerUnavailable as exc:
        print(f"tests: {exc}", file=sys.stderr)
        return 2
    try:
        if is_pytest:
            # Never run the suite under whatever settings the shell happens to export.
            os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
            os.environ[PREPARED_ENV] = json.dumps(
                {name: os.environ[name] for name in PREPARED_SETTINGS}
            )
            command = [sys.executable, "-m", "pytest", *command[1:]]
        elif command[0] == "python":
            command = [sys.executable, *command[1:]]
        return subprocess.call(command)
    finally:
        for server in started:
            server.stop()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
