"""Fixtures of the farm's tests: real worker and beat processes, and a real broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from celery_app import app
from tests.simulators.farm.stack import Stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    started = Stack(tmp_path / "stack.log")
    try:
        yield started
    finally:
        started.stop_all()
        if started.log.exists():
            print(started.log.read_text()[-6000:])


@pytest.fixture
def real_broker() -> Iterator[None]:
    """Tasks sent by the test process go to the broker instead of running in-process."""
    # The app reads Django's namespaced setting first: override it under that name.
    eager = app.conf.task_always_eager
    app.conf["CELERY_TASK_ALWAYS_EAGER"] = False
    app.control.purge()
    try:
        yield
    finally:
        app.conf["CELERY_TASK_ALWAYS_EAGER"] = eager
