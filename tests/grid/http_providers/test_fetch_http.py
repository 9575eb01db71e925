"""End to end: the fetch task (``grid.fetch_signals``) reads an HTTP provider on a real local
server and stores into the real PostgreSQL; the resolver answers from what was stored."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from celery.exceptions import Retry
from django.test import override_settings

from grid import resolver
from grid.models import SignalPoint
from grid.providers import synthetic
from grid.providers.base import Signal
from grid.tasks import signals_fetch_task
from tests.devices.factories import HomeFactory
from tests.grid.http_providers.server import Handler, LocalServer, reply, stall

pytestmark = pytest.mark.django_db

SECRET = "sk_live_fetch_0123456789SECRET"
REGION = "geo:52,0"  # the cell of a home at 51.5 N, 0.1 W
VALUE = 321.0
HALF_HOUR = timedelta(minutes=30)
GOOD_FOR = timedelta(hours=1)
"""How far past the fetch's instant the good answer reaches."""


def carbon_until_an_hour_ahead(handler: Handler) -> None:
    """Half-hours of carbon intensity from the asked start to an hour after the fetch."""
    query = parse_qs(urlsplit(handler.path).query)
    start = datetime.fromisoformat(query["from"][0])
    end = min(datetime.fromisoformat(query["to"][0]), datetime.now(UTC) + GOOD_FOR)
    start = start.replace(minute=start.minute - start.minute % 30)
    items = []
    while start < end:
        items.append({"start": start.isoformat(), "end": (start + HALF_HOUR).isoformat(),
                      "value": VALUE})  # fmt: skip
        start += HALF_HOUR
    reply(200, orjson.dumps({"data": items}), [("Content-Type", "application/json")])(handler)


@pytest.fixture
def provider_at(http_server: LocalServer) -> Iterator[LocalServer]:
    """GRID_PROVIDERS: carbon intensity from the local server's /carbon, with an API key."""
    config = {
        "carbon_intensity": [
            {
                "kind": "json-url",
                "name": "local-carbon",
                "url": http_server.base + "/carbon?from={start}&to={end}&region={region}",
                "timeout_s": 0.5,
                "retries": 1,
                "backoff_s": 0.01,
                "api_key": SECRET,
                "api_key_param": "appid",
            }
        ]
    }
    with override_settings(GRID_PROVIDERS=config):
        yield http_server


def carbon_at(at: datetime) -> tuple[float, str, bool]:
    values = resolver.regional_signals((REGION,), at)[Signal.CARBON_INTENSITY]
    return float(values.value[0]), values.source[0], bool(values.stale[0])


def test_a_good_answer_is_stored_and_shows_as_its_source(provider_at: LocalServer) -> None:
    HomeFactory(latitude=51.5, longitude=-0.1)
    provider_at.route("/carbon", carbon_until_an_hour_ahead)

    signals_fetch_task()

    [request] = provider_at.requests_to("/carbon")
    assert request.query["region"] == [REGION]
    assert request.query["appid"] == [SECRET]
    stored = SignalPoint.objects.filter(source="local-carbon", region=REGION)
    assert stored.exists() and {p.value for p in stored} == {VALUE}
    assert carbon_at(datetime.now(UTC)) == (VALUE, "local-carbon", False)


@pytest.mark.parametrize(
    "failure",
    [reply(500, b"upstream down"), stall(3.0, reply(200, b"[]")), reply(200, b"\x00garbage\xff")],
    ids=["http-500", "timeout", "garbage"],
)
def test_after_a_failed_fetch_the_last_good_value_stands_in_flagged_stale(
    provider_at: LocalServer, failure: object, caplog: pytest.LogCaptureFixture
) -> None:
    HomeFactory(latitude=51.5, longitude=-0.1)
    provider_at.route("/carbon", carbon_until_an_hour_ahead)
    signals_fetch_task()
    stored = sorted(SignalPoint.objects.values_list("start", "end", "value"))

    provider_at.route("/carbon", failure)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING), pytest.raises(Retry):
        signals_fetch_task()  # the task asks Celery to try the failed provider again later

    assert sorted(SignalPoint.objects.values_list("start", "end", "value")) == stored
    after_the_good_values = datetime.now(UTC) + GOOD_FOR + HALF_HOUR
    assert carbon_at(after_the_good_values) == (VALUE, "local-carbon", True)
    assert "local-carbon" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    "failure",
    [reply(503), stall(3.0, reply(200, b"[]")), reply(200, b'{"data": [{"start": 1}]}')],
    ids=["http-503", "timeout", "malformed"],
)
def test_without_a_good_value_the_synthetic_one_stands_in_flagged_stale(
    provider_at: LocalServer, failure: object
) -> None:
    HomeFactory(latitude=51.5, longitude=-0.1)
    provider_at.route("/carbon", failure)  # type: ignore[arg-type]
    with pytest.raises(Retry):
        signals_fetch_task()

    now = datetime.now(UTC)
    value, source, stale = carbon_at(now)
    assert (source, stale) == (synthetic.NAME, True)
    [expected] = synthetic.SyntheticProvider(Signal.CARBON_INTENSITY).fetch(
        REGION, now, now + timedelta(seconds=1)
    )
    assert value == expected.value > 0
    assert not SignalPoint.objects.exists()
