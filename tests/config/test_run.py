"""`make run`'s launcher: the metrics directory its processes share, how it ends, and the
emulator it points to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from config import run

ROOT = Path(__file__).resolve().parents[2]


def test_each_start_counts_from_an_empty_metrics_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "ROOT", tmp_path)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    earlier = tmp_path / "var" / "metrics" / "counter_123.db"
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"from an earlier run")

    path = run.metrics_dir()

    assert path == str(tmp_path / "var" / "metrics")
    assert Path(path).is_dir() and not list(Path(path).iterdir())


def test_a_given_metrics_directory_is_used_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = tmp_path / "shared"
    given.mkdir()
    (given / "counter_1.db").write_bytes(b"kept")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(given))

    assert run.metrics_dir() == str(given)
    assert (given / "counter_1.db").exists()


STOPPED_BY_CTRL_C = """
import signal, sys, time
signal.signal(signal.SIGINT, lambda *_: sys.exit(130))  # as the Procfile runner does
print("ready", flush=True)
time.sleep(60)
"""


def _launch(code: str, child: str) -> subprocess.Popen[str]:
    """``run_until_stopped`` on a child running ``child``, in a process group of its own (the
    terminal's group that Ctrl-C signals)."""
    launcher = f"import sys; from config.run import run_until_stopped; sys.exit({code})"
    return subprocess.Popen(
        [sys.executable, "-c", launcher, child],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=ROOT,
    )


def test_ctrl_c_is_a_normal_stop_not_an_error() -> None:
    runner = _launch("run_until_stopped([sys.executable, '-c', sys.argv[1]])", STOPPED_BY_CTRL_C)
    assert runner.stdout is not None
    assert runner.stdout.readline().strip() == "ready"

    os.killpg(runner.pid, signal.SIGINT)

    assert runner.wait(timeout=30) == 0


def test_a_runner_that_fails_on_its_own_keeps_its_exit_code() -> None:
    runner = _launch(
        "run_until_stopped([sys.executable, '-c', sys.argv[1]])", "import sys; sys.exit(3)"
    )

    assert runner.wait(timeout=30) == 3


def test_the_emulator_runs_from_any_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "firmware.emulate", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "--count" in result.stdout
