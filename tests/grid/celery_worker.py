"""A real Celery worker for task tests (the default queue unless told), eager mode off meanwhile."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from celery_app import app
from tests.simulators.farm.stack import ROOT

WORKER_ARGS = [
    "--concurrency", "1", "--pool", "prefork", "--without-heartbeat",
    "--without-mingle", "--without-gossip", "--loglevel", "INFO",
]  # fmt: skip


@contextmanager
def default_queue_worker(
    module: list[str], env: dict[str, str], log: Path, queues: str = "default"
) -> Iterator[Path]:
    """Run ``python -m MODULE… WORKER_ARGS`` (a Celery worker of ``queues``) with ``env``,
    logging to ``log``; tasks sent meanwhile go to it, not eagerly. The log's tail is printed
    at the end."""
    eager = app.conf.task_always_eager
    app.conf["CELERY_TASK_ALWAYS_EAGER"] = False
    app.control.purge()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", *module, "--queues", queues, *WORKER_ARGS],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield log
    finally:
        app.conf["CELERY_TASK_ALWAYS_EAGER"] = eager
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(log.read_text()[-4000:])
