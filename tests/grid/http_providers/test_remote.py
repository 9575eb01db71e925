"""Providers built from specs, fetching from a real local HTTP server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from grid.providers.base import Point, ProviderError, Reason, Signal
from grid.providers.http import ProviderSpecError
from grid.providers.remote import HTTP_KINDS
from tests.grid.http_providers.server import LocalServer, closed_port, endless, reply, stall
from tests.grid.http_providers.test_parsers import AWATTAR, OCTOPUS, OPEN_METEO, UK_REGIONAL

FAST = {"timeout_s": 0.5, "retries": 1, "backoff_s": 0.01, "backoff_max_s": 0.05}
START = datetime(2018, 1, 20, 12, 0, tzinfo=UTC)
END = datetime(2018, 1, 20, 12, 30, tzinfo=UTC)


def provider(signal: Signal, **spec: Any):  # type: ignore[no-untyped-def]
    return HTTP_KINDS[spec["kind"]](signal, {**FAST, **spec})


def test_uk_carbon_intensity_asks_for_the_mapped_region_and_range(http_server: LocalServer) -> None:
    http_server.route(
        "/regional/intensity/2018-01-20T12:00Z/2018-01-20T12:30Z/regionid/11",
        reply(200, UK_REGIONAL),
    )
    carbon = provider(
        Signal.CARBON_INTENSITY,
        kind="uk-carbon-intensity",
        url=http_server.base + "/regional/intensity/{start}/{end}/regionid/{region}",
        regions={"south-west": 11},
    )
    assert carbon.name == "uk-carbon-intensity"
    assert carbon.fetch("south-west", START, END) == [Point(START, END, 266.0)]
    with pytest.raises(ProviderError) as caught:
        carbon.fetch("atlantis", START, END)
    assert caught.value.reason is Reason.UNKNOWN_REGION


def test_open_meteo_sends_the_regions_coordinates(http_server: LocalServer) -> None:
    url = http_server.route("/v1/forecast", reply(200, OPEN_METEO))
    spec = {
        "kind": "open-meteo",
        "url": url + "?latitude={latitude}&longitude={longitude}&hourly=cloud_cover,"
        "temperature_2m&timezone=GMT&start_date={start_date}&end_date={end_date}",
        "regions": {"berlin": {"latitude": 52.52, "longitude": 13.41}},
    }
    start = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)
    end = datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    clouds = provider(Signal.CLOUD_COVER, **spec).fetch("berlin", start, end)
    temperatures = provider(Signal.TEMPERATURE, **spec).fetch("berlin", start, end)
    # Only the hours overlapping the range: 01:00 (cloud cover at 02:00 is null).
    assert [p.value for p in clouds] == [0.35]
    assert [p.value for p in temperatures] == [4.9, -0.4]
    query = http_server.requests_to("/v1/forecast")[0].query
    assert (query["latitude"], query["longitude"]) == (["52.52"], ["13.41"])
    assert (query["start_date"], query["end_date"]) == (["2024-01-01"], ["2024-01-01"])


def test_awattar_asks_for_milliseconds(http_server: LocalServer) -> None:
    url = http_server.route("/v1/marketdata", reply(200, AWATTAR))
    start = datetime(2015, 4, 9, 15, 0, tzinfo=UTC)
    prices = provider(
        Signal.IMPORT_PRICE, kind="awattar", url=url + "?start={start_ms}&end={end_ms}"
    ).fetch("at", start, datetime(2015, 4, 9, 17, 0, tzinfo=UTC))
    assert [p.value for p in prices] == pytest.approx([0.04209, -0.0035])
    query = http_server.requests_to("/v1/marketdata")[0].query
    assert query["start"] == [str(int(start.timestamp()) * 1000)]


def test_octopus_agile_maps_the_region_to_its_letter(http_server: LocalServer) -> None:
    http_server.route(
        "/v1/products/AGILE/electricity-tariffs/E-1R-AGILE-C/standard-unit-rates/",
        reply(200, OCTOPUS),
    )
    prices = provider(
        Signal.EXPORT_PRICE,
        kind="octopus-agile",
        url=http_server.base + "/v1/products/AGILE/electricity-tariffs/E-1R-AGILE-{region}/"
        "standard-unit-rates/?period_from={start}&period_to={end}",
        regions={"london": "C"},
        vat="exc",
    ).fetch(
        "london", datetime(2023, 3, 26, 0, 0, tzinfo=UTC), datetime(2023, 3, 26, 2, 0, tzinfo=UTC)
    )
    assert [p.value for p in prices] == pytest.approx([0.20, 0.22])


@pytest.mark.parametrize("kind", ["json-url", "csv-url"])
def test_generic_urls_fill_their_placeholders(http_server: LocalServer, kind: str) -> None:
    body = (
        orjson.dumps(
            {"data": [{"start": "2018-01-20T12:00Z", "end": "2018-01-20T12:30Z", "value": 42}]}
        )
        if kind == "json-url"
        else b"start,end,value\n2018-01-20T12:00Z,2018-01-20T12:30Z,42\n"
    )
    url = http_server.route("/signal", reply(200, body))
    source = provider(
        Signal.CLOUD_COVER,
        kind=kind,
        url=url + "?from={start}&to={end}&zone={region}",
        scale=0.01,
        name="my-feed",
    )
    assert source.name == "my-feed"
    assert source.fetch("zone 1/a", START, END) == [Point(START, END, 0.42)]
    query = http_server.requests_to("/signal")[0].query
    assert query == {
        "from": ["2018-01-20T12:00Z"],
        "to": ["2018-01-20T12:30Z"],
        "zone": ["zone 1/a"],
    }


@pytest.mark.parametrize(
    ("responders", "reason"),
    [
        ((reply(500),), Reason.HTTP_STATUS),
        ((stall(5.0, reply(200, b"[]")),), Reason.TIMEOUT),
        ((reply(200, bytes(range(256)) * 8),), Reason.MALFORMED),
        (
            (
                reply(
                    200,
                    b'{"data": [{"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z",'
                    b' "intensity": {"forecast": 99999}}]}',
                ),
            ),
            Reason.OUT_OF_RANGE,
        ),
        ((endless(),), Reason.TOO_LARGE),
    ],
)
def test_every_failure_is_a_provider_error_with_its_reason(
    http_server: LocalServer, responders: tuple[Any, ...], reason: Reason
) -> None:
    url = http_server.route("/intensity", *responders)
    carbon = provider(
        Signal.CARBON_INTENSITY,
        kind="uk-carbon-intensity",
        national=True,
        url=url + "?from={start}&to={end}",
        max_bytes=512 * 1024,
    )
    with pytest.raises(ProviderError) as caught:
        carbon.fetch("gb", START, END)
    assert caught.value.reason is reason


def test_a_refused_connection_is_a_provider_error() -> None:
    carbon = provider(
        Signal.CARBON_INTENSITY,
        kind="uk-carbon-intensity",
        national=True,
        url=f"http://127.0.0.1:{closed_port()}/intensity/{{start}}/{{end}}",
    )
    with pytest.raises(ProviderError) as caught:
        carbon.fetch("gb", START, END)
    assert caught.value.reason is Reason.UNREACHABLE


def test_default_urls_are_the_documented_endpoints() -> None:
    carbon = HTTP_KINDS["uk-carbon-intensity"](Signal.CARBON_INTENSITY, {"regions": {"x": 13}})
    weather = HTTP_KINDS["open-meteo"](
        Signal.TEMPERATURE, {"regions": {"x": {"latitude": 1, "longitude": 2}}}
    )
    prices = HTTP_KINDS["awattar"](Signal.IMPORT_PRICE, {})
    assert carbon.url.startswith("https://api.carbonintensity.org.uk/regional/intensity/")  # type: ignore[attr-defined]
    assert weather.url.startswith("https://api.open-meteo.com/v1/forecast?")  # type: ignore[attr-defined]
    assert prices.url.startswith("https://api.awattar.de/v1/marketdata?")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "signal", "spec", "words"),
    [
        ("uk-carbon-intensity", Signal.TEMPERATURE, {"national": True}, "not temperature"),
        ("uk-carbon-intensity", Signal.CARBON_INTENSITY, {}, "needs regions"),
        ("uk-carbon-intensity", Signal.CARBON_INTENSITY, {"regions": {"x": 18}}, "1..17"),
        ("uk-carbon-intensity", Signal.CARBON_INTENSITY, {"regions": {"x": "London"}}, "national"),
        ("open-meteo", Signal.IMPORT_PRICE, {}, "not import_price"),
        (
            "open-meteo",
            Signal.CLOUD_COVER,
            {"regions": {"x": {"latitude": 91, "longitude": 0}}},
            "latitude",
        ),
        ("awattar", Signal.CARBON_INTENSITY, {}, "not carbon_intensity"),
        ("octopus-agile", Signal.IMPORT_PRICE, {}, "needs a url"),
        (
            "octopus-agile",
            Signal.IMPORT_PRICE,
            {"url": "https://x.example/{region}", "vat": 1},
            "vat",
        ),
        (
            "json-url",
            Signal.IMPORT_PRICE,
            {"url": "https://x.example/?q={when}"},
            "unknown placeholders ['when']",
        ),
        ("json-url", Signal.IMPORT_PRICE, {"url": "ftp://x.example/"}, "http://"),
        ("json-url", Signal.IMPORT_PRICE, {"url": "https://x.example/{"}, "template"),
        ("json-url", Signal.IMPORT_PRICE, {"url": "https://x.example/", "scale": 0}, "scale"),
        (
            "json-url",
            Signal.IMPORT_PRICE,
            {"url": "https://x.example/", "timout_s": 3},
            "no settings ['timout_s']",
        ),
        (
            "csv-url",
            Signal.IMPORT_PRICE,
            {"url": "https://x.example/", "signal": "temperature"},
            "asked for import_price",
        ),
    ],
)
def test_bad_specs_are_refused_by_name(
    kind: str, signal: Signal, spec: dict[str, Any], words: str
) -> None:
    with pytest.raises(ProviderSpecError) as caught:
        HTTP_KINDS[kind](signal, {"kind": kind, **spec})
    assert words in str(caught.value)


def test_uk_carbon_intensity_national_for_regions_mapped_so(http_server: LocalServer) -> None:
    from tests.grid.http_providers.test_parsers import UK_NATIONAL

    http_server.route("/intensity/2018-01-20T12:00Z/2018-01-20T12:30Z", reply(200, UK_NATIONAL))
    http_server.route(
        "/regional/intensity/2018-01-20T12:00Z/2018-01-20T12:30Z/regionid/11",
        reply(200, UK_REGIONAL),
    )
    carbon = provider(
        Signal.CARBON_INTENSITY,
        kind="uk-carbon-intensity",
        url=http_server.base + "/regional/intensity/{start}/{end}/regionid/{region}",
        national_url=http_server.base + "/intensity/{start}/{end}",
        regions={"GB": "national", "GB-south-west": 11},
    )
    assert [p.value for p in carbon.fetch("GB", START, END)] == [263.0]
    assert [p.value for p in carbon.fetch("GB-south-west", START, END)] == [266.0]
