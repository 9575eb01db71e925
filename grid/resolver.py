"""
The value of every signal for regions and tariffs, with the fallback order.

For each (signal, region) at an instant:

1. a *fresh* stored value: a point of a configured provider covering the instant (the first
   provider in ``GRID_PROVIDERS`` order that has one) — ``stale`` false;
2. the *last good* value: the newest stored point of a configured provider that started within
   ``GRID_SIGNAL_MAX_AGE_S`` before the instant — ``stale`` true;
3. the synthetic provider's value — ``source`` ``"synthetic"``, ``stale`` true when another
   provider was configured for the signal (it is a stand-in), false when synthetic is the
   configured provider.

So a value is always there, finite, and says where it came from: never a silent zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from django.conf import settings

from grid import selectors, tariffs
from grid.providers import registry, synthetic
from grid.providers.base import Signal

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
TARIFF_SOURCE = "tariff"
"""The ``source`` of a price a fixed or time-of-use tariff sets."""
MAX_SERIES_POINTS = 7 * 48
"""The most points of one signal a series answers (a week of half-hours)."""


def max_age() -> timedelta:
    """How long a stored value stands in, flagged stale, after its interval ended."""
    return timedelta(seconds=float(getattr(settings, "GRID_SIGNAL_MAX_AGE_S", 6 * 3600)))


@dataclass(frozen=True, slots=True)
class RegionalValues:
    """One signal for many regions at one instant, aligned with the regions asked for."""

    value: FloatArray
    """Never NaN: a provider's value, the last good one, or the synthetic one."""
    measured: FloatArray
    """``value`` where a provider other than the synthetic one gave it, NaN elsewhere."""
    source: tuple[str, ...]
    stale: BoolArray


@dataclass(frozen=True, slots=True)
class TariffPrices:
    """Prices of many tariffs at one instant; where ``*_dynamic``, the region's signal applies."""

    import_price: FloatArray
    import_dynamic: BoolArray
    export_price: FloatArray
    export_dynamic: BoolArray


_stored: dict[tuple[object, ...], dict[Signal, RegionalValues]] = {}


def regional_signals(regions: tuple[str, ...], at: datetime) -> dict[Signal, RegionalValues]:
    """Every signal for each of ``regions`` at ``at``, by the fallback order. Stored values are
    read once per process, instant and set of regions (every shard of a block in a tick), and
    again when a fetch stored points since (one indexed query per call says so)."""
    sources = {signal: registry.stored_sources(signal) for signal in Signal}
    answer = dict(_synthetic(regions, synthetic.interval_start(at), _configured_key(sources)))
    if not any(sources.values()):
        return answer
    key = (at, regions, tuple(sources.items()), selectors.signal_points_version())
    cached = _stored.get(key)
    if cached is None:
        if any(other[0] != at for other in _stored):
            _stored.clear()
        cached = _stored[key] = _with_stored(answer, regions, sources, at)
    return cached


def _with_stored(
    answer: dict[Signal, RegionalValues],
    regions: tuple[str, ...],
    sources: dict[Signal, tuple[str, ...]],
    at: datetime,
) -> dict[Signal, RegionalValues]:
    index = {region: i for i, region in enumerate(regions)}
    rows = selectors.signal_points_near(
        regions=list(regions),
        sources={signal.value: names for signal, names in sources.items()},
        at=at,
        since=at - max_age(),
    )
    best: dict[tuple[str, int], tuple[tuple[bool, int, datetime], str, float]] = {}
    for signal, region, source, start, end, value in rows:
        names = sources[Signal(signal)]
        if source not in names:
            continue
        fresh = start <= at < end
        rank = (fresh, -names.index(source), start)
        key = (signal, index[region])
        if key not in best or rank > best[key][0]:
            best[key] = (rank, source, value)
    for signal in Signal:
        chosen = [(i, entry) for (s, i), entry in best.items() if s == signal.value]
        if not chosen:
            continue
        base = answer[signal]
        values, measured = base.value.copy(), base.measured.copy()
        names_of, stale = list(base.source), base.stale.copy()
        for i, ((fresh, _, _), name, stored) in chosen:
            values[i] = measured[i] = stored
            names_of[i] = name
            stale[i] = not fresh
        answer[signal] = RegionalValues(values, measured, tuple(names_of), stale)
    return answer


def _configured_key(sources: dict[Signal, tuple[str, ...]]) -> tuple[Signal, ...]:
    return tuple(signal for signal in Signal if sources[signal])


@lru_cache(maxsize=64)
def _synthetic(
    regions: tuple[str, ...], interval: datetime, stand_in: tuple[Signal, ...]
) -> tuple[tuple[Signal, RegionalValues], ...]:
    # Deterministic in (regions, interval): computed once per process for each.
    nan = np.full(len(regions), np.nan)
    nan.setflags(write=False)
    result = []
    computed = synthetic.regions_values(list(Signal), list(regions), interval)
    for signal in Signal:
        values = computed[signal]
        values.setflags(write=False)
        stale = np.full(len(regions), signal in stand_in)
        stale.setflags(write=False)
        result.append(
            (signal, RegionalValues(values, nan, (synthetic.NAME,) * len(regions), stale))
        )
    return tuple(result)


def tariff_prices(specs: Iterable[tariffs.TariffSpec], at: datetime) -> TariffPrices:
    """Each tariff's own import and export price at ``at`` (NaN and dynamic where it has none)."""
    imports, exports = [], []
    for spec in specs:
        price = tariffs.import_price_at(spec, at)
        imports.append(np.nan if price is None else price)
        exports.append(np.nan if spec.export_price is None else spec.export_price)
    import_price, export_price = np.array(imports), np.array(exports)
    return TariffPrices(
        import_price=import_price,
        import_dynamic=np.isnan(import_price),
        export_price=export_price,
        export_dynamic=np.isnan(export_price),
    )


@dataclass(frozen=True, slots=True)
class ResolvedPoint:
    """A signal's value over ``[start, end)`` and where it came from."""

    start: datetime
    end: datetime
    value: float
    source: str
    stale: bool
    #: An observation (the provider gave it after its interval ended, replacing any forecast
    #: it stored for that interval), not a forecast. Tariff prices and the synthetic model's
    #: values are never observations.
    observed: bool = False


def home_series(
    *, region: str, spec: tariffs.TariffSpec, start: datetime, end: datetime
) -> dict[Signal, list[ResolvedPoint]]:
    """Every signal of a home over ``[start, end)``, one point per signal interval (at most
    ``MAX_SERIES_POINTS``), each resolved by the fallback order; a tariff's own prices have
    source ``"tariff"``."""
    step = timedelta(seconds=synthetic.SIGNAL_INTERVAL_S)
    first = synthetic.interval_start(start)
    count = min(
        MAX_SERIES_POINTS,
        max(0, -(-int((end - first) / timedelta(seconds=1)) // int(step.total_seconds()))),
    )
    starts = [first + i * step for i in range(count)]
    answer: dict[Signal, list[ResolvedPoint]] = {}
    for signal in Signal:
        names = registry.stored_sources(signal)
        stored = (
            selectors.signal_points(
                signal=signal.value,
                region=region,
                sources=names,
                start=first - max_age(),
                end=first + count * step,
            )
            if names and count
            else []
        )
        fallback = synthetic.SyntheticProvider(signal).fetch(region, first, first + count * step)
        points = []
        for i, at in enumerate(starts):
            own = _tariff_price(signal, spec, at)
            if own is not None:
                points.append(ResolvedPoint(at, at + step, own, TARIFF_SOURCE, False))
                continue
            best = None
            for point in stored:
                if point.start > at or point.start < at - max_age():
                    continue
                fresh = point.end > at
                rank = (fresh, -names.index(point.source), point.start)
                if best is None or rank > best[0]:
                    best = (rank, point)
            if best is not None:
                (fresh, _, _), point = best
                observed = fresh and point.fetched_at >= point.end
                points.append(
                    ResolvedPoint(at, at + step, point.value, point.source, not fresh, observed)
                )
            else:
                points.append(
                    ResolvedPoint(at, at + step, fallback[i].value, synthetic.NAME, bool(names))
                )
        answer[signal] = points
    return answer


def _tariff_price(signal: Signal, spec: tariffs.TariffSpec, at: datetime) -> float | None:
    if signal is Signal.IMPORT_PRICE:
        return tariffs.import_price_at(spec, at)
    if signal is Signal.EXPORT_PRICE:
        return spec.export_price
    return None
