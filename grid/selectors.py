"""
Reads of the grid app: a user's tariff and signals, and the farm's table of homes.

A home's region is its tariff's ``region`` when set, otherwise its own 1° cell
``geo:<round(lat)>,<round(lon)>`` (docs/architecture.md, "Grid signals").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from django.db.models import Count, Max, Prefetch

from devices import selectors as device_selectors
from devices.models import Home
from grid import tariffs
from grid.models import SignalPoint, Tariff, TariffPeriod
from grid.providers.synthetic import interval_start

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

_tables: dict[tuple[object, ...], _RangeTable] = {}
_tables_interval: list[datetime] = []
_MAX_TABLES = 512


def home_grid_table(home_ids: IntArray, at: datetime) -> HomeGridTable:
    """Each home's region and tariff. Loaded once per process, signal interval and id range
    (a change of tariff shows at once; a home's move or new time zone at the next interval)."""
    ids = np.asarray(home_ids, dtype=np.int64)
    if ids.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return HomeGridTable((MISSING_REGION,), (tariffs.DEFAULT,), empty, empty)
    low, high = int(ids.min()), int(ids.max())
    interval = interval_start(at)
    if _tables_interval != [interval]:
        _tables.clear()
        _tables_interval[:] = [interval]
    version = Tariff.objects.aggregate(count=Count("id"), last=Max("updated_at"))
    key = (low, high, version["count"], version["last"])
    table = _tables.get(key)
    if table is None:
        if len(_tables) >= _MAX_TABLES:
            _tables.clear()
        table = _tables[key] = _load_range(low, high)
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
    rows = Home.objects.filter(id__gte=low, id__lte=high).order_by("id")
    ids = np.fromiter(rows.values_list("id", flat=True), dtype=np.int64)
    latitude = np.fromiter(rows.values_list("latitude", flat=True), dtype=np.float64)
    longitude = np.fromiter(rows.values_list("longitude", flat=True), dtype=np.float64)
    # Cells as integer pairs, named once per distinct cell.
    cell = np.rint(latitude).astype(np.int64) * 1000 + np.rint(longitude).astype(np.int64)
    cells, region_index = np.unique(cell, return_inverse=True)
    regions = [_cell_name(int(c)) for c in cells]
    specs: list[tariffs.TariffSpec] = [tariffs.DEFAULT]
    spec_index: dict[tariffs.TariffSpec, int] = {tariffs.DEFAULT: 0}
    region_names = {name: i for i, name in enumerate(regions)}
    tariff_index = np.zeros(ids.size, dtype=np.int64)
    region_index = region_index.astype(np.int64)
    chosen = (
        Tariff.objects.filter(home_id__gte=low, home_id__lte=high)
        .select_related("home")
        .prefetch_related(Prefetch("periods", queryset=TariffPeriod.objects.order_by("start")))
    )
    for tariff in chosen:
        spec = tariff_spec(tariff, tariff.home.timezone)
        where = int(np.searchsorted(ids, tariff.home_id))
        if where >= ids.size or ids[where] != tariff.home_id:
            continue
        tariff_index[where] = spec_index.setdefault(spec, len(specs))
        if tariff_index[where] == len(specs):
            specs.append(spec)
        if tariff.region:
            region_index[where] = region_names.setdefault(tariff.region, len(regions))
            if region_index[where] == len(regions):
                regions.append(tariff.region)
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
