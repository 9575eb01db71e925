"""Observers of a shard's phases: ``load``, ``physics``, ``write``, ``checkpoint``.

The farm calls :func:`reached` as each phase of a shard completes; an observer registered with
:func:`observe` sees ``(phase, tick_s, home_id_from)``. Timing and metrics attach here, and so
do tests that stop a worker at a chosen phase.
"""

from __future__ import annotations

from collections.abc import Callable

Observer = Callable[[str, int, int], None]
_observers: list[Observer] = []
PHASES = ("load", "physics", "write", "checkpoint")


def observe(observer: Observer) -> Callable[[], None]:
    """Call ``observer`` at every phase from now on; returns the function that stops it."""
    _observers.append(observer)
    return lambda: _observers.remove(observer)


def reached(phase: str, *, tick_s: int, home_id_from: int) -> None:
    for observer in list(_observers):
        observer(phase, tick_s, home_id_from)
