"""The parsers against the providers' documented answers, and against broken ones.

Each documented example is written here from the provider's documentation; the expected
points are worked out by hand from it (units converted as the parsers' module describes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from grid.providers.base import Point, ProviderError, Reason, Signal
from grid.providers.parsers import (
    awattar_parse,
    generic_csv_parse,
    generic_json_parse,
    octopus_parse,
    open_meteo_parse,
    uk_carbon_intensity_parse,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def failure(call, *args, **kwargs) -> ProviderError:  # type: ignore[no-untyped-def]
    with pytest.raises(ProviderError) as caught:
        call(*args, **kwargs)
    return caught.value


# -- UK Carbon Intensity API ----------------------------------------------------------------

# GET /intensity/2018-01-20T12:00Z/2018-01-20T13:00Z (the API's documentation example, one more
# half-hour whose actual value is not yet published).
UK_NATIONAL = b"""{"data": [
  {"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z",
   "intensity": {"forecast": 266, "actual": 263, "index": "moderate"}},
  {"from": "2018-01-20T12:30Z", "to": "2018-01-20T13:00Z",
   "intensity": {"forecast": 271, "actual": null, "index": "moderate"}}
]}"""

# GET /regional/intensity/2018-01-20T12:00Z/2018-01-20T12:30Z/regionid/11
UK_REGIONAL = b"""{"data": {
  "regionid": 11, "dnoregion": "WPD South West", "shortname": "South West England",
  "data": [
    {"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z",
     "intensity": {"forecast": 266, "index": "moderate"},
     "generationmix": [{"fuel": "gas", "perc": 43.6}, {"fuel": "coal", "perc": 0.7},
                       {"fuel": "biomass", "perc": 4.2}, {"fuel": "nuclear", "perc": 17.6},
                       {"fuel": "hydro", "perc": 2.2}, {"fuel": "imports", "perc": 6.5},
                       {"fuel": "other", "perc": 0.3}, {"fuel": "wind", "perc": 6.8},
                       {"fuel": "solar", "perc": 18.1}]}
  ]
}}"""


def test_uk_national_takes_the_actual_value_when_published_else_the_forecast() -> None:
    assert uk_carbon_intensity_parse(UK_NATIONAL) == [
        Point(at("2018-01-20T12:00"), at("2018-01-20T12:30"), 263.0),
        Point(at("2018-01-20T12:30"), at("2018-01-20T13:00"), 271.0),
    ]


def test_uk_regional_reads_the_nested_series() -> None:
    assert uk_carbon_intensity_parse(UK_REGIONAL) == [
        Point(at("2018-01-20T12:00"), at("2018-01-20T12:30"), 266.0)
    ]


def test_uk_regional_also_comes_as_a_list_of_one_region() -> None:
    document = orjson.loads(UK_REGIONAL)
    document["data"] = [document["data"]]
    assert uk_carbon_intensity_parse(orjson.dumps(document))[0].value == 266.0


@pytest.mark.parametrize(
    ("body", "reason", "words"),
    [
        (b'{"data": [', Reason.MALFORMED, "not JSON"),
        (b'{"datum": []}', Reason.MALFORMED, "missing field 'data'"),
        (
            b'{"data": [{"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z"}]}',
            Reason.MALFORMED,
            "missing field 'intensity'",
        ),
        (
            b'{"data": [{"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z",'
            b' "intensity": {"forecast": "266"}}]}',
            Reason.MALFORMED,
            "expected a number",
        ),
        (
            b'{"data": [{"from": "2018-01-20T12:00", "to": "2018-01-20T12:30Z",'
            b' "intensity": {"forecast": 266}}]}',
            Reason.MALFORMED,
            "no UTC offset",
        ),
        (
            b'{"data": [{"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z",'
            b' "intensity": {"forecast": 2500}}]}',
            Reason.OUT_OF_RANGE,
            "outside 0..2000",
        ),
        (
            b'{"data": [{"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z",'
            b' "intensity": {"forecast": -1}}]}',
            Reason.OUT_OF_RANGE,
            "outside",
        ),
        (
            b'{"data": [{"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z",'
            b' "intensity": {"forecast": NaN}}]}',
            Reason.MALFORMED,
            "not JSON",
        ),
    ],
)
def test_uk_carbon_intensity_refuses_broken_answers(
    body: bytes, reason: Reason, words: str
) -> None:
    error = failure(uk_carbon_intensity_parse, body)
    assert error.reason is reason
    assert words in str(error)


# -- Open-Meteo ---------------------------------------------------------------------------

# GET /v1/forecast?latitude=52.52&longitude=13.41&hourly=cloud_cover,temperature_2m&timezone=GMT
OPEN_METEO = """{
  "latitude": 52.52, "longitude": 13.419998, "generationtime_ms": 0.0569,
  "utc_offset_seconds": 0, "timezone": "GMT", "timezone_abbreviation": "GMT", "elevation": 38.0,
  "hourly_units": {"time": "iso8601", "cloud_cover": "%", "temperature_2m": "°C"},
  "hourly": {
    "time": ["2024-01-01T00:00", "2024-01-01T01:00", "2024-01-01T02:00"],
    "cloud_cover": [100, 35, null],
    "temperature_2m": [5.3, 4.9, -0.4]
  }
}""".encode()


def test_open_meteo_cloud_cover_is_a_fraction_per_hour_and_skips_missing_hours() -> None:
    assert open_meteo_parse(OPEN_METEO, signal=Signal.CLOUD_COVER) == [
        Point(at("2024-01-01T00:00"), at("2024-01-01T01:00"), 1.0),
        Point(at("2024-01-01T01:00"), at("2024-01-01T02:00"), 0.35),
    ]


def test_open_meteo_temperature_in_celsius() -> None:
    assert [p.value for p in open_meteo_parse(OPEN_METEO, signal=Signal.TEMPERATURE)] == [
        5.3,
        4.9,
        -0.4,
    ]


def test_open_meteo_local_times_are_shifted_by_their_offset_and_fahrenheit_converted() -> None:
    document = orjson.loads(OPEN_METEO)
    document["utc_offset_seconds"] = 3600  # times in UTC+01:00
    document["hourly_units"]["temperature_2m"] = "°F"
    document["hourly"]["temperature_2m"] = [50, 32, 212 - 180]
    points = open_meteo_parse(orjson.dumps(document), signal=Signal.TEMPERATURE)
    assert points[0].start == at("2023-12-31T23:00")
    assert [round(p.value, 9) for p in points] == [10.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("change", "reason", "words"),
    [
        (lambda d: d.pop("hourly"), Reason.MALFORMED, "missing field 'hourly'"),
        (lambda d: d["hourly"].pop("cloud_cover"), Reason.MALFORMED, "missing field 'cloud_cover'"),
        (lambda d: d["hourly"]["cloud_cover"].pop(), Reason.MALFORMED, "differ in length"),
        (
            lambda d: d["hourly"]["cloud_cover"].__setitem__(1, 130),
            Reason.OUT_OF_RANGE,
            "outside 0..1",
        ),
        (
            lambda d: d["hourly"]["cloud_cover"].__setitem__(1, True),
            Reason.MALFORMED,
            "expected a number",
        ),
        (
            lambda d: d["hourly"]["time"].__setitem__(1, "2024-01-01T00:00"),
            Reason.MALFORMED,
            "a second value",
        ),
        (
            lambda d: d["hourly"]["time"].__setitem__(0, "2024-01-01T05:00"),
            Reason.MALFORMED,
            "ascending",
        ),
        (
            lambda d: d["hourly"]["time"].__setitem__(0, "yesterday"),
            Reason.MALFORMED,
            "not an ISO 8601",
        ),
        (
            lambda d: d["hourly_units"].__setitem__("cloud_cover", "oktas"),
            Reason.MALFORMED,
            "expected %",
        ),
    ],
)
def test_open_meteo_refuses_broken_answers(change, reason: Reason, words: str) -> None:  # type: ignore[no-untyped-def]
    document = orjson.loads(OPEN_METEO)
    change(document)
    error = failure(open_meteo_parse, orjson.dumps(document), signal=Signal.CLOUD_COVER)
    assert error.reason is reason
    assert words in str(error)


# -- aWATTar ------------------------------------------------------------------------------

# GET https://api.awattar.at/v1/marketdata (the API's documentation example)
AWATTAR = b"""{"object": "list", "data": [
  {"start_timestamp": 1428591600000, "end_timestamp": 1428595200000,
   "marketprice": 42.09, "unit": "Eur/MWh"},
  {"start_timestamp": 1428595200000, "end_timestamp": 1428598800000,
   "marketprice": -3.5, "unit": "Eur/MWh"}
], "url": "/at/v1/marketdata"}"""


def test_awattar_prices_per_kwh() -> None:
    # 1428591600 s after the epoch is 2015-04-09 15:00 UTC; 42.09 EUR/MWh = 0.04209 EUR/kWh.
    points = awattar_parse(AWATTAR, signal=Signal.IMPORT_PRICE)
    assert [(p.start, p.end) for p in points] == [
        (at("2015-04-09T15:00"), at("2015-04-09T16:00")),
        (at("2015-04-09T16:00"), at("2015-04-09T17:00")),
    ]
    assert [p.value for p in points] == pytest.approx([0.04209, -0.0035])


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (
            {
                "start_timestamp": 1428591600000,
                "end_timestamp": 1428595200000,
                "marketprice": 42.09,
                "unit": "Eur/kWh",
            },
            Reason.MALFORMED,
        ),
        (
            {
                "start_timestamp": "1428591600000",
                "end_timestamp": 1428595200000,
                "marketprice": 1,
                "unit": "Eur/MWh",
            },
            Reason.MALFORMED,
        ),
        (
            {
                "start_timestamp": 1428591600000,
                "end_timestamp": 1428595200000,
                "marketprice": 20000,
                "unit": "Eur/MWh",
            },
            Reason.OUT_OF_RANGE,
        ),
        (
            {
                "start_timestamp": 1428595200000,
                "end_timestamp": 1428591600000,
                "marketprice": 1,
                "unit": "Eur/MWh",
            },
            Reason.MALFORMED,
        ),
        (
            {"start_timestamp": 1428591600000, "end_timestamp": 1428595200000, "unit": "Eur/MWh"},
            Reason.MALFORMED,
        ),
    ],
)
def test_awattar_refuses_broken_entries(item: dict[str, object], reason: Reason) -> None:
    body = orjson.dumps({"object": "list", "data": [item]})
    assert failure(awattar_parse, body, signal=Signal.IMPORT_PRICE).reason is reason


# -- Octopus Agile ------------------------------------------------------------------------

# GET /v1/products/AGILE-FLEX-22-11-25/electricity-tariffs/E-1R-AGILE-FLEX-22-11-25-C/
#     standard-unit-rates/ (newest first, as documented)
OCTOPUS = b"""{"count": 2, "next": null, "previous": null, "results": [
  {"value_exc_vat": 22.0, "value_inc_vat": 23.1, "valid_from": "2023-03-26T01:00:00Z",
   "valid_to": "2023-03-26T01:30:00Z", "payment_method": null},
  {"value_exc_vat": 20.0, "value_inc_vat": 21.0, "valid_from": "2023-03-26T00:30:00Z",
   "valid_to": "2023-03-26T01:00:00Z", "payment_method": null}
]}"""


def test_octopus_rates_in_pounds_per_kwh_in_time_order() -> None:
    points = octopus_parse(OCTOPUS, signal=Signal.IMPORT_PRICE)
    assert [(p.start, p.end) for p in points] == [
        (at("2023-03-26T00:30"), at("2023-03-26T01:00")),
        (at("2023-03-26T01:00"), at("2023-03-26T01:30")),
    ]
    assert [p.value for p in points] == pytest.approx([0.21, 0.231])
    without_vat = octopus_parse(OCTOPUS, signal=Signal.EXPORT_PRICE, include_vat=False)
    assert [p.value for p in without_vat] == pytest.approx([0.20, 0.22])


def test_octopus_refuses_duplicate_and_open_ended_rates() -> None:
    document = orjson.loads(OCTOPUS)
    document["results"][1] = dict(document["results"][0])
    assert "a second value" in str(
        failure(octopus_parse, orjson.dumps(document), signal=Signal.IMPORT_PRICE)
    )
    document = orjson.loads(OCTOPUS)
    document["results"][0]["valid_to"] = None
    assert "open-ended" in str(
        failure(octopus_parse, orjson.dumps(document), signal=Signal.IMPORT_PRICE)
    )


# -- generic JSON and CSV -----------------------------------------------------------------

GENERIC = [
    {"start": "2024-03-31T00:00:00+00:00", "end": "2024-03-31T00:30:00+00:00", "value": 0.25},
    {"start": "2024-03-31T02:30:00+02:00", "end": "2024-03-31T01:00:00Z", "value": -0.05},
]


@pytest.mark.parametrize("document", [GENERIC, {"data": GENERIC}])
def test_generic_json_bare_or_wrapped(document: object) -> None:
    assert generic_json_parse(orjson.dumps(document), signal=Signal.IMPORT_PRICE) == [
        Point(at("2024-03-31T00:00"), at("2024-03-31T00:30"), 0.25),
        Point(at("2024-03-31T00:30"), at("2024-03-31T01:00"), -0.05),
    ]


def test_generic_json_scale_converts_units() -> None:
    body = orjson.dumps([{**GENERIC[0], "value": 40}])
    assert generic_json_parse(body, signal=Signal.CLOUD_COVER, scale=0.01)[0].value == 0.4


def entry(start: object, end: object, value: object) -> dict[str, object]:
    return {"start": start, "end": end, "value": value}


@pytest.mark.parametrize(
    ("body", "reason", "words"),
    [
        (b"", Reason.MALFORMED, "not JSON"),
        (b"\x89PNG\r\n\x1a\n", Reason.MALFORMED, "not JSON"),
        (b'{"items": []}', Reason.MALFORMED, "missing field 'data'"),
        (b'"a string"', Reason.MALFORMED, "expected a list"),
        (b"[1, 2]", Reason.MALFORMED, "expected an object"),
        (
            orjson.dumps([{"start": "2024-01-01T00:00Z", "value": 1}]),
            Reason.MALFORMED,
            "missing field 'end'",
        ),
        (
            orjson.dumps([entry("2024-01-01T00:00Z", "2024-01-01T01:00Z", "1.0")]),
            Reason.MALFORMED,
            "expected a number, got str",
        ),
        (
            orjson.dumps([entry("2024-01-01T00:00Z", "2024-01-01T01:00Z", None)]),
            Reason.MALFORMED,
            "expected a number, got NoneType",
        ),
        (
            orjson.dumps([entry("2024-01-01T00:00Z", "2024-01-01T01:00Z", True)]),
            Reason.MALFORMED,
            "expected a number, got bool",
        ),
        (
            b'[{"start": "2024-01-01T00:00Z", "end": "2024-01-01T01:00Z", "value": NaN}]',
            Reason.MALFORMED,
            "not JSON",
        ),
        (
            b'[{"start": "2024-01-01T00:00Z", "end": "2024-01-01T01:00Z", "value": 1e400}]',
            Reason.MALFORMED,
            "not JSON",
        ),
        (
            orjson.dumps([entry("2024-01-01T00:00", "2024-01-01T01:00Z", 1)]),
            Reason.MALFORMED,
            "no UTC offset",
        ),
        (
            orjson.dumps([entry(1704067200, "2024-01-01T01:00Z", 1)]),
            Reason.MALFORMED,
            "expected an ISO 8601 string",
        ),
        (
            orjson.dumps([entry("0001-01-01T00:00+01:00", "2024-01-01T01:00Z", 1)]),
            Reason.MALFORMED,
            "out of range",
        ),
        (
            orjson.dumps([entry("2024-01-01T01:00Z", "2024-01-01T01:00Z", 1)]),
            Reason.MALFORMED,
            "end is not after its start",
        ),
        (
            orjson.dumps([entry("2024-01-01T00:00Z", "2024-01-01T01:00Z", 11)]),
            Reason.OUT_OF_RANGE,
            "outside -10..10",
        ),
        (
            orjson.dumps(
                [
                    entry("2024-01-01T00:00Z", "2024-01-01T01:00Z", 1),
                    entry("2024-01-01T00:00Z", "2024-01-01T01:00Z", 2),
                ]
            ),
            Reason.MALFORMED,
            "a second value",
        ),
        (
            orjson.dumps(
                [
                    entry("2024-01-01T01:00Z", "2024-01-01T02:00Z", 1),
                    entry("2024-01-01T00:00Z", "2024-01-01T01:00Z", 2),
                ]
            ),
            Reason.MALFORMED,
            "ascending",
        ),
        (
            orjson.dumps(
                [
                    entry("2024-01-01T00:00Z", "2024-01-01T01:00Z", 1),
                    entry("2024-01-01T00:30Z", "2024-01-01T01:30Z", 2),
                ]
            ),
            Reason.MALFORMED,
            "overlaps",
        ),
    ],
)
def test_generic_json_refuses_broken_answers(body: bytes, reason: Reason, words: str) -> None:
    error = failure(generic_json_parse, body, signal=Signal.IMPORT_PRICE)
    assert error.reason is reason
    assert words in str(error)


@pytest.mark.parametrize(
    ("signal", "value", "accepted"),
    [
        (Signal.IMPORT_PRICE, -10, True),
        (Signal.IMPORT_PRICE, -10.01, False),
        (Signal.EXPORT_PRICE, 10, True),
        (Signal.EXPORT_PRICE, 10.01, False),
        (Signal.CARBON_INTENSITY, 0, True),
        (Signal.CARBON_INTENSITY, 2000, True),
        (Signal.CARBON_INTENSITY, 2000.5, False),
        (Signal.CLOUD_COVER, 1, True),
        (Signal.CLOUD_COVER, 1.01, False),
        (Signal.CLOUD_COVER, -0.01, False),
        (Signal.TEMPERATURE, -90, True),
        (Signal.TEMPERATURE, 60, True),
        (Signal.TEMPERATURE, 60.1, False),
        (Signal.TEMPERATURE, -90.1, False),
    ],
)
def test_physical_ranges_per_signal(signal: Signal, value: float, accepted: bool) -> None:
    body = orjson.dumps([entry("2024-01-01T00:00Z", "2024-01-01T01:00Z", value)])
    if accepted:
        assert generic_json_parse(body, signal=signal)[0].value == value
    else:
        assert failure(generic_json_parse, body, signal=signal).reason is Reason.OUT_OF_RANGE


CSV = b"""start,end,value
2024-01-01T00:00Z,2024-01-01T00:30Z,180
2024-01-01T00:30Z,2024-01-01T01:00Z,175.5

"""


def test_generic_csv() -> None:
    assert generic_csv_parse(CSV, signal=Signal.CARBON_INTENSITY) == [
        Point(at("2024-01-01T00:00"), at("2024-01-01T00:30"), 180.0),
        Point(at("2024-01-01T00:30"), at("2024-01-01T01:00"), 175.5),
    ]


def test_generic_csv_columns_in_any_order_with_a_bom() -> None:
    body = "\ufeffValue,region,End,Start\n22.5,x,2024-01-01T01:00Z,2024-01-01T00:00Z\n".encode()
    assert generic_csv_parse(body, signal=Signal.TEMPERATURE) == [
        Point(at("2024-01-01T00:00"), at("2024-01-01T01:00"), 22.5)
    ]


@pytest.mark.parametrize(
    ("body", "reason", "words"),
    [
        (b"", Reason.MALFORMED, "no header"),
        (b"\xff\xfe\x00", Reason.MALFORMED, "not UTF-8"),
        (b"begin,finish,amount\n", Reason.MALFORMED, "no 'start' column"),
        (b"start,end,value\n2024-01-01T00:00Z,2024-01-01T00:30Z\n", Reason.MALFORMED, "columns"),
        (
            b"start,end,value\n2024-01-01T00:00Z,2024-01-01T00:30Z,abc\n",
            Reason.MALFORMED,
            "expected a number",
        ),
        (
            b"start,end,value\n2024-01-01T00:00Z,2024-01-01T00:30Z,nan\n",
            Reason.OUT_OF_RANGE,
            "not finite",
        ),
        (
            b"start,end,value\n2024-01-01T00:00Z,2024-01-01T00:30Z,-inf\n",
            Reason.OUT_OF_RANGE,
            "not finite",
        ),
        (
            b"start,end,value\n2024-01-01T00:00Z,2024-01-01T00:30Z,2001\n",
            Reason.OUT_OF_RANGE,
            "outside 0..2000",
        ),
        (
            b"start,end,value\n2024-01-01 00:00,2024-01-01T00:30Z,1\n",
            Reason.MALFORMED,
            "no UTC offset",
        ),
        (
            b"start,end,value\n2024-01-01T00:30Z,2024-01-01T01:00Z,1\n"
            b"2024-01-01T00:00Z,2024-01-01T00:30Z,1\n",
            Reason.MALFORMED,
            "ascending",
        ),
        (b'start,end,value\n"2024-01-01T00:00Z,2024-01-01T00:30Z,1\n', Reason.MALFORMED, "columns"),
    ],
)
def test_generic_csv_refuses_broken_answers(body: bytes, reason: Reason, words: str) -> None:
    error = failure(generic_csv_parse, body, signal=Signal.CARBON_INTENSITY)
    assert error.reason is reason
    assert words in str(error)


def test_a_bad_entry_anywhere_refuses_the_whole_answer() -> None:
    good = [
        entry(
            (at("2024-01-01T00:00") + timedelta(hours=h)).isoformat(),
            (at("2024-01-01T01:00") + timedelta(hours=h)).isoformat(),
            100,
        )
        for h in range(48)
    ]
    good[47]["value"] = 5000
    assert failure(
        generic_json_parse, orjson.dumps(good), signal=Signal.CARBON_INTENSITY
    ).reason is (Reason.OUT_OF_RANGE)
