"""The planner and the farm's plan path on SQLite, the database of `make run` on a machine
without PostgreSQL (the rest of the suite runs on PostgreSQL): the base-load history query,
the fleet's plans, the farm following them with decisions and the twin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_a_day_of_the_demo_plans_and_follows_on_sqlite(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'gridtwin.sqlite3'}",
        TICK_SECONDS="60",
        LOG_LEVEL="WARNING",
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.planner.sqlite_day"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # the week-old minute comes back as the first interval's base load: 10 Wh in 60 s
    assert found["history_w"][0] == pytest.approx(600.0)
    assert found["history_w"][1] != found["history_w"][1]  # NaN: no history there
    assert found["counts"]["planned"] == 1 and found["status"] == "optimal"
    assert found["followed"] == 3 and found["twinned"] == 3
    assert found["decisions"] > 0
