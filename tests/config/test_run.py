"""`make run`'s launcher: the metrics directory its processes share."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import run


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
