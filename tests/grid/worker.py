"""A real Celery worker for the grid's tests, with a provider kind that fails at first.

``python -m tests.grid.worker -- ARGS`` registers the kind ``flaky`` (an answer of one point
per call after failing ``fail_times`` times, counted in Redis across processes and retries)
and runs ``celery worker ARGS``. The kind lives here, in the tests; production code only reads
the registry.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import django

ATTEMPTS_KEY = "test:grid:flaky-attempts"


class FlakyProvider:
    name = "flaky"

    def __init__(self, signal: Any, spec: Mapping[str, Any]) -> None:
        self.signal = signal
        self.fail_times = int(spec.get("fail_times", 1))

    def fetch(self, region: str, start: datetime, end: datetime) -> list[Any]:
        from devices.live import store
        from grid.providers.base import Point, ProviderError

        attempt = int(store.client().incr(ATTEMPTS_KEY))
        if attempt <= self.fail_times:
            raise ProviderError(f"attempt {attempt}: HTTP 503")
        first = start.replace(minute=0, second=0, microsecond=0)
        return [Point(start=first, end=first + timedelta(minutes=30), value=111.0)]


def main(argv: list[str]) -> None:
    split = argv.index("--") if "--" in argv else len(argv)
    django.setup()
    from celery_app import app
    from grid.providers import registry

    registry.KINDS["flaky"] = FlakyProvider
    app.worker_main(["worker", *argv[split + 1 :]])


if __name__ == "__main__":
    main(sys.argv[1:])
