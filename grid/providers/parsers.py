"""
Parsers of the public formats the HTTP providers read: bytes in, validated points out.

Each parser is a pure function of the response body (and the signal it is read for). It
either returns points that are all valid, or raises ``ProviderError`` naming the first
problem: a body that is not the format (``malformed``: syntax, types, missing fields, naive
or implausible times, empty, reversed, duplicate or overlapping intervals) or a value that is
not physical (``out_of_range``: NaN, infinity, or outside the signal's range after unit
conversion). Nothing partial is returned, so a bad answer never replaces good values.

Units (docs/architecture.md, "Grid signals"): prices in currency/kWh, carbon intensity in
gCO2e/kWh, cloud cover as a fraction 0..1, temperature in °C.

- aWATTar's ``marketprice`` is in EUR/MWh: divided by 1000 (EUR/kWh, the wholesale price).
- Octopus' ``value_inc_vat`` / ``value_exc_vat`` are in pence/kWh: divided by 100 (GBP/kWh).
- Open-Meteo's ``cloud_cover`` is in percent: divided by 100; ``temperature_2m`` in °C (or °F,
  converted, when ``hourly_units`` says so).
- The generic formats carry the signal's own unit; a provider may scale them (``scale``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from grid.providers.base import Point, ProviderError, Reason, Signal

#: Physical range of each signal, in its unit, inclusive.
SIGNAL_RANGES: Mapping[Signal, tuple[float, float]] = {
    Signal.IMPORT_PRICE: (-10.0, 10.0),
    Signal.EXPORT_PRICE: (-10.0, 10.0),
    Signal.CARBON_INTENSITY: (0.0, 2000.0),
    Signal.CLOUD_COVER: (0.0, 1.0),
    Signal.TEMPERATURE: (-90.0, 60.0),
}

#: The most points one answer may hold (a year of 5-minute intervals is 105,120).
MAX_POINTS = 110_000
#: Instants outside these years are refused as implausible (and keep arithmetic in range).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

_HOUR = timedelta(hours=1)


def _malformed(message: str) -> ProviderError:
    return ProviderError(message, reason=Reason.MALFORMED)


# -- shared checks ------------------------------------------------------------------------


def json_load(body: bytes | str) -> Any:
    """The JSON document in ``body``; NaN and Infinity literals are refused (orjson)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise _malformed(f"not JSON: {error.msg} at position {error.pos}") from None


def instant_parse(text: object, where: str) -> datetime:
    """An ISO 8601 instant with a UTC offset (``Z`` or ``±hh:mm``), as aware UTC."""
    if not isinstance(text, str):
        raise _malformed(f"{where}: expected an ISO 8601 string, got {type(text).__name__}")
    if len(text) > 40:
        raise _malformed(f"{where}: not an ISO 8601 instant")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _malformed(f"{where}: not an ISO 8601 instant: {text!r}") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise _malformed(f"{where}: {text!r} has no UTC offset")
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise _malformed(f"{where}: {text!r} is out of range") from None
    return _plausible(value, where)


def epoch_ms_parse(value: object, where: str) -> datetime:
    """Milliseconds since 1970-01-01 UTC (an integer), as aware UTC."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(f"{where}: expected integer milliseconds, got {type(value).__name__}")
    if not EARLIEST.timestamp() * 1000 <= value < LATEST.timestamp() * 1000:
        raise _malformed(f"{where}: {value} ms is not a plausible instant")
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _plausible(value: datetime, where: str) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise _malformed(f"{where}: {value.isoformat()} is not a plausible instant")
    return value


def number_parse(value: object, where: str) -> float:
    """A JSON number (not a boolean, not a string), as a finite float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _malformed(f"{where}: expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise ProviderError(f"{where}: {value} is not finite", reason=Reason.OUT_OF_RANGE) from None
    if not math.isfinite(number):
        raise ProviderError(f"{where}: {value} is not finite", reason=Reason.OUT_OF_RANGE)
    return number


def _field(item: object, name: str, where: str) -> Any:
    if not isinstance(item, dict):
        raise _malformed(f"{where}: expected an object, got {type(item).__name__}")
    if name not in item:
        raise _malformed(f"{where}: missing field {name!r}")
    return item[name]


def _items(items: object, where: str) -> list[Any]:
    if not isinstance(items, list):
        raise _malformed(f"{where}: expected a list, got {type(items).__name__}")
    if len(items) > MAX_POINTS:
        raise _malformed(f"{where}: more than {MAX_POINTS} entries")
    return items


def points_validate(signal: Signal, points: Iterable[Point], *, sort: bool = False) -> list[Point]:
    """``points`` checked for ``signal``: finite values in range, positive intervals, ascending
    without duplicates or overlaps (sorted first when ``sort``, for feeds documented newest
    first). Raises ``ProviderError`` on the first problem."""
    low, high = SIGNAL_RANGES[signal]
    checked = list(points)
    if sort:
        checked.sort(key=lambda point: point.start)
    previous: Point | None = None
    for index, point in enumerate(checked):
        if not math.isfinite(point.value):
            raise ProviderError(
                f"entry {index}: {signal} {point.value} is not finite", reason=Reason.OUT_OF_RANGE
            )
        if not low <= point.value <= high:
            raise ProviderError(
                f"entry {index}: {signal} {point.value:g} is outside {low:g}..{high:g}",
                reason=Reason.OUT_OF_RANGE,
            )
        if point.end <= point.start:
            raise _malformed(f"entry {index}: its end is not after its start")
        if previous is not None:
            if point.start == previous.start:
                raise _malformed(f"entry {index}: a second value for {point.start.isoformat()}")
            if point.start < previous.start:
                raise _malformed(f"entry {index}: intervals are not in ascending order")
            if point.start < previous.end:
                raise _malformed(f"entry {index}: overlaps the interval before it")
        previous = point
    return checked


# -- generic JSON and CSV -----------------------------------------------------------------


def generic_json_parse(body: bytes | str, *, signal: Signal, scale: float = 1.0) -> list[Point]:
    """``[{"start": ISO 8601, "end": ISO 8601, "value": number}, …]``, or the same list under
    ``{"data": […]}``; values in the signal's unit times ``scale``; ascending."""
    document = json_load(body)
    if isinstance(document, dict):
        document = _field(document, "data", "body")
    points = []
    for index, item in enumerate(_items(document, "body")):
        where = f"entry {index}"
        start = instant_parse(_field(item, "start", where), f"{where}.start")
        end = instant_parse(_field(item, "end", where), f"{where}.end")
        value = number_parse(_field(item, "value", where), f"{where}.value")
        points.append(Point(start=start, end=end, value=value * scale))
    return points_validate(signal, points)


def generic_csv_parse(body: bytes | str, *, signal: Signal, scale: float = 1.0) -> list[Point]:
    """CSV with a header naming ``start``, ``end`` and ``value`` (any order, other columns
    ignored); UTF-8; instants ISO 8601 with an offset; values as decimal numbers; ascending."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _malformed("not UTF-8 text") from None
    else:
        text = body
    if "\x00" in text:
        raise _malformed("not CSV text (NUL character)")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise _malformed("empty: no header row")
        names = [name.strip().lower() for name in header]
        columns = {}
        for name in ("start", "end", "value"):
            if name not in names:
                raise _malformed(f"the header has no {name!r} column")
            columns[name] = names.index(name)
        width = max(columns.values()) + 1
        points: list[Point] = []
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(points) >= MAX_POINTS:
                raise _malformed(f"more than {MAX_POINTS} rows")
            if len(row) < width:
                raise _malformed(f"line {line}: expected at least {width} columns")
            start = instant_parse(row[columns["start"]].strip(), f"line {line} start")
            end = instant_parse(row[columns["end"]].strip(), f"line {line} end")
            value = _decimal_parse(row[columns["value"]], f"line {line} value")
            points.append(Point(start=start, end=end, value=value * scale))
    except csv.Error as error:
        raise _malformed(f"not CSV: {error}") from None
    return points_validate(signal, points)


def _decimal_parse(text: str, where: str) -> float:
    cleaned = text.strip()
    if not cleaned or len(cleaned) > 40:
        raise _malformed(f"{where}: expected a number")
    try:
        value = float(cleaned)
    except ValueError:
        raise _malformed(f"{where}: expected a number, got {cleaned!r}") from None
    if not math.isfinite(value):
        raise ProviderError(f"{where}: {cleaned} is not finite", reason=Reason.OUT_OF_RANGE)
    return value


# -- UK Carbon Intensity API (carbonintensity.org.uk) --------------------------------------


def uk_carbon_intensity_parse(body: bytes | str) -> list[Point]:
    """The Carbon Intensity API's intensity answers, in gCO2/kWh.

    National (``/intensity/{from}/{to}``): ``{"data": [{"from", "to", "intensity":
    {"forecast", "actual", "index"}}]}``; the actual value when published, else the forecast.
    Regional (``/regional/intensity/{from}/{to}/regionid/{id}``): ``{"data": {"regionid", …,
    "data": [{"from", "to", "intensity": {"forecast", "index"}, "generationmix"}]}}`` (the
    region also comes as a one-element list). Half-hour intervals, times like
    ``2018-01-20T12:00Z``.
    """
    document = json_load(body)
    data = _field(document, "data", "body")
    if isinstance(data, dict) or (
        isinstance(data, list)
        and len(data) == 1
        and isinstance(data[0], dict)
        and "regionid" in data[0]
    ):
        region = data if isinstance(data, dict) else data[0]
        data = _field(region, "data", "body.data")
    points = []
    for index, item in enumerate(_items(data, "data")):
        where = f"entry {index}"
        start = instant_parse(_field(item, "from", where), f"{where}.from")
        end = instant_parse(_field(item, "to", where), f"{where}.to")
        intensity = _field(item, "intensity", where)
        actual = intensity.get("actual") if isinstance(intensity, dict) else None
        if actual is not None:
            value = number_parse(actual, f"{where}.intensity.actual")
        else:
            value = number_parse(
                _field(intensity, "forecast", f"{where}.intensity"), f"{where}.intensity.forecast"
            )
        points.append(Point(start=start, end=end, value=value))
    return points_validate(Signal.CARBON_INTENSITY, points)


# -- Open-Meteo forecast ------------------------------------------------------------------

OPEN_METEO_VARIABLES: Mapping[Signal, str] = {
    Signal.CLOUD_COVER: "cloud_cover",
    Signal.TEMPERATURE: "temperature_2m",
}


def open_meteo_parse(body: bytes | str, *, signal: Signal) -> list[Point]:
    """An Open-Meteo ``/v1/forecast`` answer's hourly series for ``signal`` (cloud cover or
    temperature): ``{"utc_offset_seconds": 0, "hourly_units": {…}, "hourly": {"time":
    ["2024-01-01T00:00", …], "cloud_cover": [%…], "temperature_2m": [°C…]}}``.

    Times are local to ``utc_offset_seconds`` (0 when asked with ``timezone=GMT``, assumed 0
    when absent); each value holds for the hour starting at its time. A ``null`` value (the
    model has none for that hour) is left out; the other hours are kept.
    """
    if signal not in OPEN_METEO_VARIABLES:
        raise ValueError(f"Open-Meteo has no {signal}")
    variable = OPEN_METEO_VARIABLES[signal]
    document = json_load(body)
    if not isinstance(document, dict):
        raise _malformed("body: expected an object")
    offset_s = document.get("utc_offset_seconds", 0)
    if isinstance(offset_s, bool) or not isinstance(offset_s, int) or abs(offset_s) > 18 * 3600:
        raise _malformed("utc_offset_seconds: expected whole seconds within ±18 h")
    hourly = _field(document, "hourly", "body")
    times = _items(_field(hourly, "time", "hourly"), "hourly.time")
    values = _items(_field(hourly, variable, "hourly"), f"hourly.{variable}")
    if len(times) != len(values):
        raise _malformed(f"hourly.time and hourly.{variable} differ in length")
    unit = document.get("hourly_units", {})
    unit = unit.get(variable) if isinstance(unit, dict) else None
    convert = _open_meteo_unit(signal, unit)
    offset = timedelta(seconds=offset_s)
    points = []
    for index, (time, value) in enumerate(zip(times, values, strict=True)):
        where = f"hourly[{index}]"
        start = _open_meteo_time(time, offset, where)
        if value is None:
            continue
        number = convert(number_parse(value, f"{where}.{variable}"))
        points.append(Point(start=start, end=start + _HOUR, value=number))
    return points_validate(signal, points)


def _open_meteo_unit(signal: Signal, unit: object) -> Any:
    if signal is Signal.CLOUD_COVER:
        if unit not in (None, "%"):
            raise _malformed(f"cloud_cover in {unit!r}, expected %")
        return lambda percent: percent / 100.0
    if unit in (None, "°C"):
        return lambda celsius: celsius
    if unit == "°F":
        return lambda fahrenheit: (fahrenheit - 32.0) * 5.0 / 9.0
    raise _malformed(f"temperature_2m in {unit!r}, expected °C or °F")


def _open_meteo_time(text: object, offset: timedelta, where: str) -> datetime:
    if not isinstance(text, str) or len(text) > 40:
        raise _malformed(f"{where}: expected an ISO 8601 local time")
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise _malformed(f"{where}: not an ISO 8601 time: {text!r}") from None
    if local.tzinfo is not None:
        raise _malformed(f"{where}: {text!r} carries an offset; expected local time")
    if not EARLIEST.replace(tzinfo=None) < local < LATEST.replace(tzinfo=None):
        raise _malformed(f"{where}: {text!r} is not a plausible instant")
    return _plausible((local - offset).replace(tzinfo=UTC), where)


# -- day-ahead prices ---------------------------------------------------------------------


def awattar_parse(body: bytes | str, *, signal: Signal) -> list[Point]:
    """aWATTar's ``/v1/marketdata``: ``{"object": "list", "data": [{"start_timestamp": ms,
    "end_timestamp": ms, "marketprice": EUR/MWh, "unit": "Eur/MWh"}]}``; prices in EUR/kWh
    (``marketprice / 1000``), the day-ahead wholesale price."""
    _price_signal(signal)
    document = json_load(body)
    points = []
    for index, item in enumerate(_items(_field(document, "data", "body"), "data")):
        where = f"entry {index}"
        unit = _field(item, "unit", where)
        if not isinstance(unit, str) or unit.lower() != "eur/mwh":
            raise _malformed(f"{where}: unit {unit!r}, expected Eur/MWh")
        start = epoch_ms_parse(_field(item, "start_timestamp", where), f"{where}.start_timestamp")
        end = epoch_ms_parse(_field(item, "end_timestamp", where), f"{where}.end_timestamp")
        per_mwh = number_parse(_field(item, "marketprice", where), f"{where}.marketprice")
        points.append(Point(start=start, end=end, value=per_mwh / 1000.0))
    return points_validate(signal, points)


def octopus_parse(body: bytes | str, *, signal: Signal, include_vat: bool = True) -> list[Point]:
    """Octopus Energy's ``…/standard-unit-rates/``: ``{"count", "next", "previous", "results":
    [{"value_exc_vat": p/kWh, "value_inc_vat": p/kWh, "valid_from": ISO, "valid_to": ISO}]}``,
    newest first; prices in GBP/kWh (pence / 100), with VAT unless ``include_vat`` is false."""
    _price_signal(signal)
    document = json_load(body)
    field = "value_inc_vat" if include_vat else "value_exc_vat"
    points = []
    for index, item in enumerate(_items(_field(document, "results", "body"), "results")):
        where = f"entry {index}"
        start = instant_parse(_field(item, "valid_from", where), f"{where}.valid_from")
        end_text = _field(item, "valid_to", where)
        if end_text is None:
            raise _malformed(f"{where}: open-ended rate (valid_to is null)")
        end = instant_parse(end_text, f"{where}.valid_to")
        pence = number_parse(_field(item, field, where), f"{where}.{field}")
        points.append(Point(start=start, end=end, value=pence / 100.0))
    return points_validate(signal, points, sort=True)


def _price_signal(signal: Signal) -> None:
    if signal not in (Signal.IMPORT_PRICE, Signal.EXPORT_PRICE):
        raise ValueError(f"a price feed answers prices, not {signal}")


__all__: Sequence[str] = (
    "SIGNAL_RANGES",
    "awattar_parse",
    "generic_csv_parse",
    "generic_json_parse",
    "octopus_parse",
    "open_meteo_parse",
    "points_validate",
    "uk_carbon_intensity_parse",
)
