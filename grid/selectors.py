"""
Reads of the grid app: a user's tariff and signals, and the farm's table of homes.

A home's region is its tariff's ``region`` when set, otherwise its own 1° cell
``geo:<round(lat)>,<round(lon)>`` (docs/architecture.md, "Grid signals").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from django.db.models import Count, F, Max, Prefetch

from devices import selectors as device_selectors
from devices.models import Home
from grid import tariffs
from grid.models import SignalPoint, Tariff, TariffPeriod

IntArray = npt.NDArray[np.int64]


def home_region(latitude: float, longitude: float) -> str:
    """The default region of a home at (latitude, longitude): its 1° cell."""
    return f"geo:{round(latitude)},{round(longitude)}"


def tariff_spec(tariff: Tariff | None, timezone: str) -> tariffs.TariffSpec:
    """The plain value of a home's tariff (``tariffs.DEFAULT`` without one)."""
    if tariff is None:
        return tariffs.DEFAULT
    periods = tuple(
        tariffs.Period(
            days=p.days,
            start_min=tariffs.minutes(p.start),
            end_min=tariffs.period_end_min(p.end),
            import_price=p.import_price_per_kwh,
        )
        for p in tariff.periods.all()
    )
    return tariffs.TariffSpec(
        kind=tariff.kind,
        import_price=tariff.import_price_per_kwh,
        export_price=tariff.export_price_per_kwh,
        periods=periods if tariff.kind == tariffs.TIME_OF_USE else (),
        timezone=timezone if tariff.kind == tariffs.TIME_OF_USE else "UTC",
    )


def home_grid(*, user_id: int, home_id: int | str) -> tuple[Home, Tariff | None, str]:
    """The user's home, its tariff (or None) and its region; ``Home.DoesNotExist`` otherwise."""
    home = device_selectors.home_get(user_id=user_id, home_id=home_id)
    tariff = (
        Tariff.objects.filter(home=home)
        .prefetch_related(Prefetch("periods", queryset=TariffPeriod.objects.order_by("start")))
        .first()
    )
    region = (tariff.region if tariff is not None else "") or home_region(
        home.latitude, home.longitude
    )
    return home, tariff, region


def signal_points(
    *, signal: str, region: str, sources: tuple[str, ...], start: datetime, end: datetime
) -> list[SignalPoint]:
    """Stored points of ``signal`` in ``region`` from ``sources`` overlapping ``[start, end)``."""
    return list(
        SignalPoint.objects.filter(
            signal=signal, region=region, source__in=sources, start__lt=end, end__gt=start
        ).order_by("start")
    )


def signal_points_version() -> tuple[object, ...]:
    """Changes whenever points are stored: the newest id (inserts) and ``fetched_at`` (upserts)."""
    found = SignalPoint.objects.aggregate(last_id=Max("id"), last_fetch=Max("fetched_at"))
    return (found["last_id"], found["last_fetch"])


def signal_points_near(
    *, regions: list[str], sources: dict[str, tuple[str, ...]], at: datetime, since: datetime
) -> list[tuple[str, str, str, datetime, datetime, float]]:
    """(signal, region, source, start, end, value) of stored points that started in
    ``[since, at]``, for the given signals' sources, newest first."""
    signals = [signal for signal, names in sources.items() if names]
    names = sorted({name for signal in signals for name in sources[signal]})
    if not signals or not regions:
        return []
    return list(
        SignalPoint.objects.filter(
            signal__in=signals,
            region__in=regions,
            source__in=names,
            start__lte=at,
            start__gte=since,
        )
        .order_by("-start")
        .values_list("signal", "region", "source", "start", "end", "value")
    )


# The farm's table: each home's region and tariff, loaded once per process and signal interval.


@dataclass(frozen=True, slots=True)
class HomeGridTable:
    """Per asked home, the index of its region in ``regions`` and of its tariff in ``tariffs``."""

    regions: tuple[str, ...]
    tariffs: tuple[tariffs.TariffSpec, ...]
    region_index: IntArray
    tariff_index: IntArray


@dataclass(frozen=True, slots=True)
class _RangeTable:
    ids: IntArray  # sorted
    region_index: IntArray
    tariff_index: IntArray
    regions: tuple[str, ...]
    tariffs: tuple[tariffs.TariffSpec, ...]


MISSING_REGION = "geo:0,0"
"""The region given to an asked id that is no home (deleted meanwhile): values, never gaps."""

_tables: dict[tuple[int, int], tuple[tuple[object, ...], _RangeTable]] = {}
_version: dict[datetime, dict[int, tuple[object, ...]]] = {}
BLOCK_IDS = 50_000
"""Home ids are loaded in aligned blocks of this many ids: the farm's shards (1,000 homes) of
one block share one load, one table of regions and so one set of synthetic values."""


def grid_versions(at: datetime) -> dict[int, tuple[object, ...]]:
    """The version of each block's homes and tariffs (counts and newest ``updated_at``), read
    once per process and instant: every shard of a tick shares two grouped queries, and a
    change between ticks reloads only its own block at the next tick."""
    versions = _version.get(at)
    if versions is None:
        found: dict[int, list[object]] = {}
        for offset, model, id_field in ((0, Tariff, "home_id"), (2, Home, "id")):
            rows = (
                model.objects.annotate(block=F(id_field) / BLOCK_IDS)
                .values("block")
                .annotate(count=Count("id"), last=Max("updated_at"))
                .values_list("block", "count", "last")
            )
            for block, count, last in rows:
                entry = found.setdefault(int(block), [0, None, 0, None])
                entry[offset], entry[offset + 1] = count, last
        versions = {block: tuple(entry) for block, entry in found.items()}
        _version.clear()
        _version[at] = versions
    return versions


def home_grid_table(home_ids: IntArray, at: datetime) -> HomeGridTable:
    """Each home's region and tariff. Loaded once per process and block of ids, and again when
    a home or tariff changed (seen at the next tick) or a home newer than the block appears."""
    ids = np.asarray(home_ids, dtype=np.int64)
    if ids.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return HomeGridTable((MISSING_REGION,), (tariffs.DEFAULT,), empty, empty)
    low = int(ids.min()) // BLOCK_IDS * BLOCK_IDS
    high = (int(ids.max()) // BLOCK_IDS + 1) * BLOCK_IDS - 1
    versions = grid_versions(at)
    version = tuple(versions.get(block) for block in range(low // BLOCK_IDS, high // BLOCK_IDS + 1))
    cached = _tables.get((low, high))
    table = cached[1] if cached is not None and cached[0] == version else None
    if table is not None and (not table.ids.size or int(ids.max()) > int(table.ids[-1])):
        table = None  # a home added since the block was loaded (ids only grow)
    if table is None:
        table = _load_range(low, high)
        _tables[(low, high)] = (version, table)
    position = np.searchsorted(table.ids, ids)
    position = np.minimum(position, max(table.ids.size - 1, 0))
    found = table.ids[position] == ids if table.ids.size else np.zeros(ids.size, dtype=bool)
    missing_region = len(table.regions) - 1  # _load_range appends MISSING_REGION last
    return HomeGridTable(
        regions=table.regions,
        tariffs=table.tariffs,
        region_index=np.where(found, table.region_index[position], missing_region),
        tariff_index=np.where(found, table.tariff_index[position], 0),
    )


def _load_range(low: int, high: int) -> _RangeTable:
    # Plain rows, no model instances: a block of homes costs one query, its tariffs two.
    rows = np.array(
        Home.objects.filter(id__gte=low, id__lte=high)
        .order_by("id")
        .values_list("id", "latitude", "longitude"),
        dtype=np.float64,
    ).reshape(-1, 3)
    ids = rows[:, 0].astype(np.int64)
    # Cells as integer pairs, named once per distinct cell.
    cell = np.rint(rows[:, 1]).astype(np.int64) * 1000 + np.rint(rows[:, 2]).astype(np.int64)
    cells, region_index = np.unique(cell, return_inverse=True)
    regions = [_cell_name(int(c)) for c in cells]
    region_index = region_index.astype(np.int64).reshape(-1)
    tariff_index = np.zeros(ids.size, dtype=np.int64)
    specs: list[tariffs.TariffSpec] = [tariffs.DEFAULT]
    spec_index: dict[tariffs.TariffSpec, int] = {tariffs.DEFAULT: 0}
    region_names = {name: i for i, name in enumerate(regions)}
    # Equal tariffs are one spec: deduplicated by their plain values, built once each.
    periods: dict[int, list[tuple[int, int, int, float]]] = {}
    for tariff_id, days, start, end, price in (
        TariffPeriod.objects.filter(tariff__home_id__gte=low, tariff__home_id__lte=high)
        .order_by("tariff_id", "start")
        .values_list("tariff_id", "days", "start", "end", "import_price_per_kwh")
    ):
        periods.setdefault(tariff_id, []).append(
            (days, tariffs.minutes(start), tariffs.period_end_min(end), price)
        )
    plain_index: dict[tuple[object, ...], int] = {}
    for tariff_id, home_id, kind, import_price, export_price, region, timezone in (
        Tariff.objects.filter(home_id__gte=low, home_id__lte=high).values_list(
            "id", "home_id", "kind", "import_price_per_kwh", "export_price_per_kwh", "region",
            "home__timezone",
        )
    ):  # fmt: skip
        where = int(np.searchsorted(ids, home_id))
        if where >= ids.size or ids[where] != home_id:
            continue
        time_of_use = kind == tariffs.TIME_OF_USE
        plain = (
            kind,
            import_price,
            export_price,
            tuple(periods.get(tariff_id, ())) if time_of_use else (),
            timezone if time_of_use else "UTC",
        )
        index = plain_index.get(plain)
        if index is None:
            spec = tariffs.TariffSpec(
                kind=kind,
                import_price=import_price,
                export_price=export_price,
                periods=tuple(tariffs.Period(*p) for p in plain[3]),
                timezone=plain[4],
            )
            index = plain_index[plain] = spec_index.setdefault(spec, len(specs))
            if index == len(specs):
                specs.append(spec)
        tariff_index[where] = index
        if region:
            region_index[where] = region_names.setdefault(region, len(regions))
            if region_index[where] == len(regions):
                regions.append(region)
    regions.append(MISSING_REGION)
    return _RangeTable(ids, region_index, tariff_index, tuple(regions), tuple(specs))


def _cell_name(cell: int) -> str:
    latitude, longitude = divmod(cell + 500, 1000)
    return f"geo:{latitude},{longitude - 500}"


def regions_in_use() -> set[str]:
    """Every region some home's signals are resolved for: homes' cells and tariffs' regions."""
    rows = Home.objects.values_list("latitude", "longitude")
    pairs = np.array(list(rows), dtype=np.float64).reshape(-1, 2)
    cells = np.unique(
        np.rint(pairs[:, 0]).astype(np.int64) * 1000 + np.rint(pairs[:, 1]).astype(np.int64)
    )
    named = set(Tariff.objects.exclude(region="").values_list("region", flat=True).distinct())
    return {_cell_name(int(c)) for c in cells} | named


@dataclass(frozen=True, slots=True)
class TariffView:
    """A home's tariff as its owner sees it; without a tariff of its own, the default one."""

    home_id: int
    kind: str
    currency: str
    standing_charge_per_day: float
    import_price_per_kwh: float | None
    export_price_per_kwh: float | None
    region: str
    periods: tuple[TariffPeriod, ...]
    is_default: bool
    spec: tariffs.TariffSpec


DEFAULT_CURRENCY = "EUR"


def tariff_view(*, user_id: int, home_id: int | str) -> TariffView:
    """The tariff of the user's home ``home_id``; ``Home.DoesNotExist`` otherwise."""
    home, tariff, region = home_grid(user_id=user_id, home_id=home_id)
    return _tariff_view(home, tariff, region)


def tariff_views_for_homes(*, homes: Sequence[Home]) -> dict[int, TariffView]:
    """The tariff of each of ``homes`` (already read, e.g. a planning shard's), by home id,
    in two queries whatever their number."""
    tariffs_by_home = {
        tariff.home_id: tariff
        for tariff in Tariff.objects.filter(home__in=[home.pk for home in homes]).prefetch_related(
            Prefetch("periods", queryset=TariffPeriod.objects.order_by("start"))
        )
    }
    views = {}
    for home in homes:
        tariff = tariffs_by_home.get(home.pk)
        region = (tariff.region if tariff is not None else "") or home_region(
            home.latitude, home.longitude
        )
        views[home.pk] = _tariff_view(home, tariff, region)
    return views


def _tariff_view(home: Home, tariff: Tariff | None, region: str) -> TariffView:
    spec = tariff_spec(tariff, home.timezone)
    if tariff is None:
        return TariffView(
            home.pk, spec.kind, DEFAULT_CURRENCY, 0.0, None, None, region, (), True, spec
        )
    return TariffView(
        home_id=home.pk,
        kind=tariff.kind,
        currency=tariff.currency,
        standing_charge_per_day=tariff.standing_charge_per_day,
        import_price_per_kwh=tariff.import_price_per_kwh,
        export_price_per_kwh=tariff.export_price_per_kwh,
        region=region,
        periods=tuple(tariff.periods.all()),
        is_default=False,
        spec=spec,
    )
