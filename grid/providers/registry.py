"""
Which providers answer each signal: the ``GRID_PROVIDERS`` setting and the kinds it may name.

``GRID_PROVIDERS`` (JSON in the environment) maps a signal name to a list of provider specs in
order of preference, each ``{"kind": <a key of KINDS>, ...options of that kind}``::

    {"carbon_intensity": [{"kind": "uk-carbon-intensity", "regions": {"GB": "national"}}],
     "temperature": [...]}

A signal left out, or given an empty list, is answered by the synthetic provider alone. The
synthetic provider is always the last fallback, whether it is listed or not.

The HTTP kinds (``json-url``, ``csv-url``, ``uk-carbon-intensity``, ``open-meteo``,
``awattar``, ``octopus-agile``) and their options are in ``grid.providers.remote``.

To add a kind of provider, put its constructor in ``KINDS``: it receives the signal and the
spec (the whole mapping, ``kind`` included), and raises ``ValueError`` for a spec it cannot use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from grid.providers import remote, synthetic
from grid.providers.base import Provider, Signal

KINDS: dict[str, Callable[[Signal, Mapping[str, Any]], Provider]] = {
    synthetic.NAME: synthetic.build,
    **remote.HTTP_KINDS,
}
"""Provider constructors by kind name."""


def providers(signal: Signal) -> tuple[Provider, ...]:
    """The configured providers of ``signal`` in order, ending with the synthetic one."""
    return _configured(*_key())[signal]


def stored_sources(signal: Signal) -> tuple[str, ...]:
    """Names of the providers of ``signal`` whose values are stored (all but the synthetic one)."""
    return tuple(p.name for p in providers(signal) if p.name != synthetic.NAME)


def check() -> list[str]:
    """Problems of the ``GRID_PROVIDERS`` setting, as sentences (empty when it is usable)."""
    try:
        _configured(*_key())
    except ImproperlyConfigured as exc:
        return [str(exc)]
    return []


Builder = Callable[[Signal, Mapping[str, Any]], Provider]


def _key() -> tuple[str, tuple[tuple[str, Builder], ...]]:
    # The setting and the registered kinds: a change of either builds the providers again.
    config = json.dumps(getattr(settings, "GRID_PROVIDERS", {}) or {}, sort_keys=True)
    # The constructors themselves, not their ids: an id may be reused once one is dropped.
    return config, tuple(sorted(KINDS.items(), key=lambda item: item[0]))


@lru_cache(maxsize=8)
def _configured(
    config_json: str, kinds: tuple[tuple[str, Builder], ...]
) -> dict[Signal, tuple[Provider, ...]]:
    config = json.loads(config_json)
    if not isinstance(config, dict):
        raise ImproperlyConfigured("GRID_PROVIDERS must be a JSON object of signal -> list.")
    unknown = sorted(set(config) - {s.value for s in Signal})
    if unknown:
        names = ", ".join(s.value for s in Signal)
        raise ImproperlyConfigured(f"GRID_PROVIDERS names unknown signals {unknown}; use {names}.")
    answer: dict[Signal, tuple[Provider, ...]] = {}
    for signal in Signal:
        specs = config.get(signal.value) or []
        if not isinstance(specs, list):
            raise ImproperlyConfigured(f"GRID_PROVIDERS[{signal.value!r}] must be a list.")
        chain: list[Provider] = []
        for spec in specs:
            kind = spec.get("kind") if isinstance(spec, dict) else None
            if kind not in KINDS:
                known = ", ".join(sorted(KINDS))
                # The kind only, never the spec: it may hold an API key.
                raise ImproperlyConfigured(
                    f"GRID_PROVIDERS[{signal.value!r}]: each spec needs a kind among {known}, "
                    f"not {kind!r}."
                )
            try:
                chain.append(KINDS[kind](signal, spec))
            except ValueError as exc:
                raise ImproperlyConfigured(f"GRID_PROVIDERS[{signal.value!r}]: {exc}") from exc
        if not any(p.name == synthetic.NAME for p in chain):
            chain.append(synthetic.SyntheticProvider(signal))
        answer[signal] = tuple(chain)
    return answer
