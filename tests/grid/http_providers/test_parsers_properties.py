"""Generated input for the generic parsers: any input ends in points or a ProviderError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from grid.providers.base import Point, ProviderError, Signal
from grid.providers.parsers import SIGNAL_RANGES, generic_csv_parse, generic_json_parse

signals = st.sampled_from(list(Signal))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["start", "end", "value", "data", "x"]), children, max_size=4
    ),
    max_leaves=20,
)
entries = st.fixed_dictionaries({"start": json_values, "end": json_values, "value": json_values})


def parses_or_refuses(parse, body: bytes, signal: Signal) -> list[Point] | None:  # type: ignore[no-untyped-def]
    try:
        points = parse(body, signal=signal)
    except ProviderError:
        return None
    low, high = SIGNAL_RANGES[signal]
    for earlier, later in pairwise(points):
        assert earlier.end <= later.start
    for point in points:
        assert low <= point.value <= high
        assert point.start.tzinfo is UTC and point.start < point.end
    return points


@settings(max_examples=300, derandomize=True, database=None)
@given(body=st.binary(max_size=300), signal=signals)
def test_arbitrary_bytes(body: bytes, signal: Signal) -> None:
    parses_or_refuses(generic_json_parse, body, signal)
    parses_or_refuses(generic_csv_parse, body, signal)


@settings(max_examples=300, derandomize=True, database=None)
@given(document=json_values | st.lists(entries, max_size=5), wrap=st.booleans(), signal=signals)
def test_arbitrary_json_documents(document: object, wrap: bool, signal: Signal) -> None:
    body = orjson.dumps({"data": document} if wrap else document)
    parses_or_refuses(generic_json_parse, body, signal)


csv_cells = st.text(alphabet=st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["2024-01-01T00:00Z", "2024-01-01T01:00+01:00", "nan", "inf", "-1e309", "1e3", "0.5", ""]
)


@settings(max_examples=300, derandomize=True, database=None)
@given(rows=st.lists(st.lists(csv_cells, min_size=0, max_size=4), max_size=5), signal=signals)
def test_arbitrary_csv_rows(rows: list[list[str]], signal: Signal) -> None:
    text = "start,end,value\n" + "\n".join(",".join(row) for row in rows)
    parses_or_refuses(generic_csv_parse, text.encode("utf-8", "surrogatepass"), signal)


@st.composite
def series(draw: st.DrawFn) -> tuple[Signal, list[Point]]:
    signal = draw(signals)
    low, high = SIGNAL_RANGES[signal]
    start = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
    start = start.replace(tzinfo=UTC, microsecond=0)
    points = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        start += timedelta(minutes=draw(st.integers(min_value=0, max_value=120)))
        end = start + timedelta(minutes=draw(st.integers(min_value=1, max_value=120)))
        value = draw(st.floats(min_value=low, max_value=high))
        points.append(Point(start, end, value))
        start = end
    return signal, points


@settings(max_examples=200, derandomize=True, database=None)
@given(generated=series(), offset_h=st.integers(min_value=-12, max_value=14))
def test_valid_series_come_back_unchanged_in_either_format(
    generated: tuple[Signal, list[Point]], offset_h: int
) -> None:
    signal, points = generated
    # The instants are written in another offset: the same instants come back, in UTC.
    shown = timezone(timedelta(hours=offset_h))
    items = [
        {
            "start": p.start.astimezone(shown).isoformat(),
            "end": p.end.astimezone(shown).isoformat(),
            "value": p.value,
        }
        for p in points
    ]
    assert generic_json_parse(orjson.dumps(items), signal=signal) == points
    csv_text = "start,end,value\n" + "".join(
        f"{item['start']},{item['end']},{item['value']!r}\n" for item in items
    )
    assert generic_csv_parse(csv_text.encode(), signal=signal) == points
