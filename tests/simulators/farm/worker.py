"""A real Celery worker for the farm's tests, with a phase observer chosen on the command line.

``python -m tests.simulators.farm.worker [--die-at PHASE] [--fail-shard HOME_ID_FROM] -- ARGS``
runs ``celery worker ARGS`` after registering, through the farm's own observer hook
(``simulators.farm.phases``), one of:

* ``--die-at PHASE``: the first shard to complete PHASE (once per test, claimed in Redis)
  SIGKILLs its own pool process, as when a machine dies mid-shard;
* ``--fail-shard N``: the shard starting at home id N raises at every attempt.

The hook lives here, in the tests; production code only calls its observers.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

import django

KILLED_KEY = "test:farm:killed"


def main(argv: list[str]) -> None:
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser()
    parser.add_argument("--die-at")
    parser.add_argument("--fail-shard", type=int)
    options = parser.parse_args(argv[:split])
    django.setup()

    from celery_app import app
    from devices.live import store
    from simulators.farm import phases

    def observer(phase: str, tick_s: int, home_id_from: int) -> None:
        if phase == "load" and home_id_from == options.fail_shard:
            raise RuntimeError(f"test: shard {home_id_from} fails")
        if phase == options.die_at and store.client().set(KILLED_KEY, f"{tick_s}:{home_id_from}",
                                                          nx=True):  # fmt: skip
            # Let the pool's parent register the job as started: a child dying before that is
            # not reported as lost, and its message would wait for the visibility timeout.
            time.sleep(1.0)
            os.kill(os.getpid(), signal.SIGKILL)

    phases.observe(observer)
    app.worker_main(["worker", *argv[split + 1 :]])


if __name__ == "__main__":
    main(sys.argv[1:])
