"""The fault suite's fixtures, and the table it prints (and writes) at the end of the session.

The table goes to the terminal and to ``test-artifacts/reliability.md``; docs/reliability.md
records one run of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.rig import ROOT, Counts, Rig

TABLE_FILE = ROOT / "test-artifacts" / "reliability.md"
_results: list[tuple[str, Counts]] = []


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    """``make_rig(tick_s=2)``: a scenario's servers and processes, all stopped at its end."""
    started: list[Rig] = []

    def make(**options: int) -> Rig:
        started.append(Rig(tmp_path, **options))
        return started[-1]

    try:
        yield make
    finally:
        for rig in started:
            rig.close()


@pytest.fixture
def record() -> Callable[[str, Counts], None]:
    def add(scenario: str, counts: Counts) -> None:
        _results.append((scenario, counts))
        print(f"\n{scenario}: {counts}")

    return add


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def table() -> str:
    lines = [
        "| scenario | ticks lost | readings lost | readings duplicated | time to recover: ticks "
        "| time to recover: readings |",
        "|---|---|---|---|---|---|",
    ]
    for scenario, c in _results:
        lines.append(
            f"| {scenario} | {c.ticks_lost} of {c.ticks_expected} | {c.readings_lost} of "
            f"{c.readings_sent} | {c.readings_duplicated} | {_seconds(c.tick_recovery_s)} | "
            f"{_seconds(c.reading_recovery_s)} |"
        )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines.append("")
    lines.append(f"{os.cpu_count()} CPUs, load average {load} at the end of the run.")
    return "\n".join(lines) + "\n"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _results:
        return
    text = table()
    terminalreporter.write_sep("=", "faults")
    terminalreporter.write(text)
    TABLE_FILE.parent.mkdir(exist_ok=True)
    TABLE_FILE.write_text(text)
