"""Real Celery workers and beat for the farm's tests: processes on the test database and Redis.

Workers and beat run with the development settings (tasks sent by tasks go to the broker, unlike
the test settings' eager mode), the test process's database, Redis and key prefix, and a
short tick. Each test that uses them must be ``django_db(transaction=True)``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[3]


def database_url() -> str:
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def environment(**overrides: Any) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
        "REDIS_KEY_PREFIX": django_settings.REDIS_KEY_PREFIX,
        "TICK_SECONDS": str(django_settings.TICK_SECONDS),
        "SIM_SHARD_HOMES": str(django_settings.SIM_SHARD_HOMES),
        "SIM_CHECKPOINT_TICKS": str(django_settings.SIM_CHECKPOINT_TICKS),
    }
    env.update({name: str(value) for name, value in overrides.items()})
    return env


class Stack:
    """Processes started by one test; all stopped (and their logs printed) at its end."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.processes: list[subprocess.Popen[bytes]] = []

    def _start(self, args: list[str]) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                args, cwd=ROOT, env=environment(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.processes.append(process)
        return process

    def worker(
        self,
        *,
        concurrency: int = 1,
        die_at: str | None = None,
        fail_shard: int | None = None,
        queues: str = "default,sim",
    ) -> subprocess.Popen[bytes]:
        options = [*(["--die-at", die_at] if die_at else [])]
        options += ["--fail-shard", str(fail_shard)] if fail_shard is not None else []
        return self._start(
            [sys.executable, "-m", "tests.simulators.farm.worker", *options, "--",
             "--queues", queues, "--concurrency", str(concurrency), "--pool", "prefork",
             "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel", "INFO"]
        )  # fmt: skip

    def beat(self, tmp: Path) -> subprocess.Popen[bytes]:
        return self._start(
            [sys.executable, "-m", "celery", "-A", "celery_app", "beat", "--loglevel", "INFO",
             "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
             "--pidfile", str(tmp / "beat.pid"), "--max-interval", "1"]
        )  # fmt: skip

    def stop(self, process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        """Signal a process; SIGKILL goes to its whole process group, as when a machine dies.

        (SIGKILL to a worker's main process alone leaves its pool children holding the broker
        socket, on which Redis may still hand over the next message: that message is lost.)
        """
        if process.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for process in self.processes:
            self.stop(process)
