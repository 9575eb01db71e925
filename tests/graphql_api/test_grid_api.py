"""gridSignals, tariff and setTariff: the caller's own homes only, field errors for mistakes."""

from __future__ import annotations

from typing import Any

import pytest

from grid.models import Tariff, TariffPeriod
from tests.conftest import GraphQLClient
from tests.devices.factories import HomeFactory
from tests.grid.factories import TariffFactory

pytestmark = pytest.mark.django_db

MISSING_ID = "987654321"
OP_INFO = "... on OperationInfo { messages { field message kind code } }"
TARIFF_FIELDS = """homeId kind currency standingChargePerDay importPricePerKwh exportPricePerKwh
    region isDefault periods { days start end importPricePerKwh }"""
TARIFF = f"query($homeId: ID!) {{ tariff(homeId: $homeId) {{ {TARIFF_FIELDS} }} }}"
SET_TARIFF = f"""
mutation($homeId: ID!, $input: TariffInput!) {{
  setTariff(homeId: $homeId, input: $input) {{ ... on Tariff {{ {TARIFF_FIELDS} }} {OP_INFO} }}
}}"""
POINT = "start end value source stale"
GRID_SIGNALS = f"""
query($homeId: ID!, $from: DateTime!, $to: DateTime!) {{
  gridSignals(homeId: $homeId, from: $from, to: $to) {{
    homeId region currency
    importPrice {{ {POINT} }} exportPrice {{ {POINT} }} carbonIntensity {{ {POINT} }}
    cloudCover {{ {POINT} }} temperatureC {{ {POINT} }}
  }}
}}"""
WINTER = {"from": "2026-01-13T06:00:00Z", "to": "2026-01-13T08:00:00Z"}
TIME_OF_USE = {
    "kind": "TIME_OF_USE",
    "currency": "GBP",
    "standingChargePerDay": 0.55,
    "exportPricePerKwh": 0.15,
    "periods": [
        {"days": 127, "start": "00:00:00", "end": "07:00:00", "importPricePerKwh": 0.1},
        {"days": 127, "start": "07:00:00", "end": "00:00:00", "importPricePerKwh": 0.3},
    ],
}


@pytest.fixture
def alice_home(user: Any) -> Any:
    return HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone="Europe/London")


def test_a_home_without_a_tariff_shows_the_default(gql: GraphQLClient, alice_home: Any) -> None:
    tariff = gql(TARIFF, {"homeId": alice_home.pk})["data"]["tariff"]
    assert tariff == {
        "homeId": str(alice_home.pk),
        "kind": "DYNAMIC",
        "currency": "EUR",
        "standingChargePerDay": 0.0,
        "importPricePerKwh": None,
        "exportPricePerKwh": None,
        "region": "geo:52,0",
        "isDefault": True,
        "periods": [],
    }


def test_set_tariff_stores_a_time_of_use_tariff(gql: GraphQLClient, alice_home: Any) -> None:
    result = gql(SET_TARIFF, {"homeId": alice_home.pk, "input": TIME_OF_USE})["data"]["setTariff"]
    assert result["kind"] == "TIME_OF_USE" and result["isDefault"] is False
    assert result["currency"] == "GBP" and result["exportPricePerKwh"] == 0.15
    assert [(p["start"], p["end"], p["importPricePerKwh"]) for p in result["periods"]] == [
        ("00:00:00", "07:00:00", 0.1),
        ("07:00:00", "00:00:00", 0.3),
    ]
    assert gql(TARIFF, {"homeId": alice_home.pk})["data"]["tariff"] == result


def test_overlapping_periods_are_a_field_error_and_nothing_is_stored(
    gql: GraphQLClient, alice_home: Any
) -> None:
    overlapping = {
        **TIME_OF_USE,
        "periods": [
            {"days": 127, "start": "00:00:00", "end": "08:00:00", "importPricePerKwh": 0.1},
            {"days": 127, "start": "07:00:00", "end": "00:00:00", "importPricePerKwh": 0.3},
        ],
    }
    result = gql(SET_TARIFF, {"homeId": alice_home.pk, "input": overlapping})["data"]["setTariff"]
    assert [m["field"] for m in result["messages"]] == ["periods"]
    assert "overlap" in result["messages"][0]["message"]
    assert result["messages"][0]["kind"] == "VALIDATION"
    assert not Tariff.objects.exists() and not TariffPeriod.objects.exists()


def test_missing_periods_are_a_field_error(gql: GraphQLClient, alice_home: Any) -> None:
    weekdays_only = {
        **TIME_OF_USE,
        "periods": [{"days": 31, "start": "00:00:00", "end": "00:00:00", "importPricePerKwh": 0.2}],
    }
    result = gql(SET_TARIFF, {"homeId": alice_home.pk, "input": weekdays_only})["data"]
    assert [m["field"] for m in result["setTariff"]["messages"]] == ["periods"]
    assert not Tariff.objects.exists()


def test_grid_signals_give_half_hours_with_their_source(
    gql: GraphQLClient, alice_home: Any
) -> None:
    gql(SET_TARIFF, {"homeId": alice_home.pk, "input": TIME_OF_USE})
    result = gql(GRID_SIGNALS, {"homeId": alice_home.pk, **WINTER})
    signals = result["data"]["gridSignals"]
    assert signals["region"] == "geo:52,0" and signals["currency"] == "GBP"
    imports = signals["importPrice"]
    assert [p["start"] for p in imports] == [
        "2026-01-13T06:00:00+00:00",
        "2026-01-13T06:30:00+00:00",
        "2026-01-13T07:00:00+00:00",
        "2026-01-13T07:30:00+00:00",
    ]
    assert [p["value"] for p in imports] == [0.1, 0.1, 0.3, 0.3]  # 07:00 GMT is the edge
    assert {p["source"] for p in imports} == {"tariff"}
    assert {p["value"] for p in signals["exportPrice"]} == {0.15}
    for name in ("carbonIntensity", "cloudCover", "temperatureC"):
        assert len(signals[name]) == 4
        assert {(p["source"], p["stale"]) for p in signals[name]} == {("synthetic", False)}
    assert all(p["value"] > 0 for p in signals["carbonIntensity"])


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"from": "2026-01-13T08:00:00Z", "to": "2026-01-13T06:00:00Z"}, "from"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-01-09T00:00:00Z"}, "to"),
        ({"from": "0001-01-01T00:00:00Z", "to": "0001-01-01T01:00:00Z"}, "from"),
        ({"from": "9999-12-31T22:00:00Z", "to": "9999-12-31T23:59:00Z"}, "from"),
    ],
)
def test_grid_signals_refuse_a_backwards_long_or_distant_range(
    gql: GraphQLClient, alice_home: Any, window: dict[str, str], field: str
) -> None:
    result = gql(GRID_SIGNALS, {"homeId": alice_home.pk, **window})
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["field"] == field


# --- Isolation: another user gets nothing, exactly as for an id that does not exist ----------


def test_another_users_tariff_reads_as_missing(other_gql: GraphQLClient, alice_home: Any) -> None:
    TariffFactory(home=alice_home)
    theirs = other_gql(TARIFF, {"homeId": alice_home.pk})
    assert theirs == other_gql(TARIFF, {"homeId": MISSING_ID}) == {"data": {"tariff": None}}


def test_another_user_cannot_set_a_tariff(other_gql: GraphQLClient, alice_home: Any) -> None:
    tariff = TariffFactory(home=alice_home, import_price_per_kwh=0.3)
    theirs = other_gql(SET_TARIFF, {"homeId": alice_home.pk, "input": TIME_OF_USE})
    missing = other_gql(SET_TARIFF, {"homeId": MISSING_ID, "input": TIME_OF_USE})
    assert theirs == missing
    assert theirs["data"]["setTariff"]["messages"][0]["field"] == "homeId"
    tariff.refresh_from_db()
    assert (tariff.kind, tariff.import_price_per_kwh) == ("fixed", 0.3)
    assert not TariffPeriod.objects.exists()


def test_another_users_grid_signals_read_as_missing(
    other_gql: GraphQLClient, alice_home: Any
) -> None:
    TariffFactory(home=alice_home, currency="GBP")
    theirs = other_gql(GRID_SIGNALS, {"homeId": alice_home.pk, **WINTER})
    missing = other_gql(GRID_SIGNALS, {"homeId": MISSING_ID, **WINTER})
    assert theirs == missing
    assert theirs["data"] is None
    assert theirs["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_anonymous_callers_get_nothing(anon: GraphQLClient, alice_home: Any) -> None:
    for document, variables in (
        (TARIFF, {"homeId": alice_home.pk}),
        (GRID_SIGNALS, {"homeId": alice_home.pk, **WINTER}),
        (SET_TARIFF, {"homeId": alice_home.pk, "input": TIME_OF_USE}),
    ):
        result = anon(document, variables)
        assert not any((result["data"] or {}).values())
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not Tariff.objects.exists()
