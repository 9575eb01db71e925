"""Providers for tests: they answer what a test gives them, as a real provider's fetch would."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.test import override_settings

from grid.providers import registry
from grid.providers.base import Point, ProviderError, Signal

Answer = Callable[[str, datetime, datetime], list[Point]]


@dataclass
class ScriptedProvider:
    """Answers each fetch with ``answer(region, start, end)``; records the calls."""

    signal: Signal
    name: str
    answer: Answer
    calls: list[tuple[str, datetime, datetime]] = field(default_factory=list)

    def fetch(self, region: str, start: datetime, end: datetime) -> list[Point]:
        self.calls.append((region, start, end))
        return self.answer(region, start, end)


def failing(message: str = "HTTP 500 from the provider") -> Answer:
    def answer(region: str, start: datetime, end: datetime) -> list[Point]:
        raise ProviderError(message)

    return answer


def points(*values: tuple[datetime, datetime, float]) -> Answer:
    def answer(region: str, start: datetime, end: datetime) -> list[Point]:
        return [Point(start=a, end=b, value=v) for a, b, v in values]

    return answer


@contextmanager
def configured(providers: Mapping[Signal, list[ScriptedProvider]]) -> Iterator[None]:
    """``GRID_PROVIDERS`` naming these providers, registered as kinds for the duration."""
    kinds: dict[str, Callable[[Signal, Mapping[str, Any]], Any]] = {}
    config: dict[str, list[dict[str, str]]] = {}
    for signal, chain in providers.items():
        for provider in chain:
            kind = f"test-{signal.value}-{provider.name}"
            kinds[kind] = lambda _signal, _spec, p=provider: p
            config.setdefault(signal.value, []).append({"kind": kind})
    registry.KINDS.update(kinds)
    try:
        with override_settings(GRID_PROVIDERS=config):
            yield
    finally:
        for kind in kinds:
            registry.KINDS.pop(kind, None)
