"""decisions and savings: the caller's own homes only, ranges checked as the ledger's, the
figures those of the stored rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import GraphQLClient
from tests.devices.factories import BatteryFactory, HomeEnergyHistoryFactory, HomeFactory
from tests.grid.factories import TariffFactory
from tests.planner.factories import DecisionFactory

pytestmark = pytest.mark.django_db

MISSING_ID = "987654321"
TEN = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
DECISIONS = """
query($homeId: ID!, $from: DateTime!, $to: DateTime!, $limit: Int) {
  decisions(homeId: $homeId, from: $from, to: $to, limit: $limit) {
    intervalStart intervalEnd deviceId deviceName deviceKind action powerW objective
    expectedCost expectedCarbonG source commandId planHash inputsHash
  }
}"""
SAVINGS = """
query($homeId: ID!, $from: DateTime!, $to: DateTime!) {
  savings(homeId: $homeId, from: $from, to: $to) {
    homeId from to currency ticks hours firstTickAt lastTickAt cost baselineCost costSaved
    carbonG baselineCarbonG carbonSavedG solarMaeW baseLoadMaeW
    hourly { start hours costSaved carbonSavedG cumulativeCostSaved cumulativeCarbonSavedG }
  }
}"""


def iso(at: datetime) -> str:
    return at.isoformat()


def span(hours: float) -> dict[str, str]:
    return {"from": iso(TEN), "to": iso(TEN + timedelta(hours=hours))}


@pytest.fixture
def alice_home(user: Any) -> Any:
    home = HomeFactory(owner=user)
    TariffFactory(home=home, currency="GBP")
    battery = BatteryFactory(home=home, name="Garage battery")
    for t in range(8):
        charging = t % 2 == 0
        DecisionFactory(
            device=battery,
            interval_start=TEN + t * QUARTER,
            action="charge" if charging else "discharge",
            power_w=3000.0 if charging else -1500.0,
            expected_cost=0.2 if charging else -0.15,
            expected_carbon_g=150.0 if charging else -90.0,
        )
    for i in range(90):  # 10:01 to 11:30, a goal throughout, the twin a penny dearer a tick
        HomeEnergyHistoryFactory(
            home=home, tick_at=TEN + timedelta(minutes=i + 1),
            cost=0.05, revenue=0.01, carbon_g=20.0,
            baseline_cost=0.06, baseline_revenue=0.01, baseline_carbon_g=25.0,
            solar_forecast_w=900.0, solar_w=1000.0,
            base_load_forecast_w=400.0, base_load_w=350.0,
        )  # fmt: skip
    return home


# --- decisions ------------------------------------------------------------------------------


def test_decisions_of_a_range_with_what_they_were_expected_to_do(
    gql: GraphQLClient, alice_home: Any
) -> None:
    with CaptureQueriesContext(connection) as queries:
        found = gql(DECISIONS, {"homeId": alice_home.pk, **span(1)})["data"]["decisions"]
    assert len(queries) == 3  # the token's user, the home, the decisions with their devices
    assert [row["intervalStart"] for row in found] == [iso(TEN + t * QUARTER) for t in range(4)]
    first, second = found[0], found[1]
    assert first["intervalEnd"] == iso(TEN + QUARTER)
    assert (first["deviceName"], first["deviceKind"], first["source"]) == (
        "Garage battery", "battery", "simulated",
    )  # fmt: skip
    assert (first["action"], first["powerW"], first["objective"]) == ("charge", 3000.0, "COST")
    assert (first["expectedCost"], first["expectedCarbonG"]) == (0.2, 150.0)
    assert (second["action"], second["powerW"], second["expectedCost"]) == (
        "discharge", -1500.0, -0.15,
    )  # fmt: skip
    assert first["commandId"] is None and len(first["planHash"]) == 64


def test_decisions_beyond_the_limit_are_the_latest(gql: GraphQLClient, alice_home: Any) -> None:
    found = gql(DECISIONS, {"homeId": alice_home.pk, **span(2), "limit": 3})["data"]["decisions"]
    assert [row["intervalStart"] for row in found] == [iso(TEN + t * QUARTER) for t in (5, 6, 7)]


@pytest.mark.parametrize("limit", [0, 1001])
def test_a_limit_outside_1_to_1000_is_a_field_error(
    gql: GraphQLClient, alice_home: Any, limit: int
) -> None:
    result = gql(DECISIONS, {"homeId": alice_home.pk, **span(1), "limit": limit})
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["field"] == "limit"


# --- savings --------------------------------------------------------------------------------


def test_savings_are_the_stored_rows_against_the_twin(gql: GraphQLClient, alice_home: Any) -> None:
    savings = gql(SAVINGS, {"homeId": alice_home.pk, **span(3)})["data"]["savings"]
    assert (savings["homeId"], savings["currency"], savings["ticks"]) == (
        str(alice_home.pk), "GBP", 90,
    )  # fmt: skip
    assert savings["hours"] == pytest.approx(1.5)
    assert savings["cost"] == pytest.approx(90 * 0.04)
    assert savings["baselineCost"] == pytest.approx(90 * 0.05)
    assert savings["costSaved"] == pytest.approx(90 * 0.01)
    assert savings["carbonSavedG"] == pytest.approx(90 * 5.0)
    assert (savings["solarMaeW"], savings["baseLoadMaeW"]) == (100.0, 50.0)
    assert savings["firstTickAt"] == iso(TEN + timedelta(minutes=1))
    hourly = savings["hourly"]
    assert [h["start"] for h in hourly] == [iso(TEN), iso(TEN + timedelta(hours=1))]
    # 10:01-10:59 in the first hour, 11:00-11:30 in the second
    assert [h["hours"] for h in hourly] == pytest.approx([59 / 60, 31 / 60])
    assert [h["cumulativeCostSaved"] for h in hourly] == pytest.approx([0.59, 0.9])
    assert hourly[-1]["cumulativeCarbonSavedG"] == pytest.approx(savings["carbonSavedG"])


# --- ranges, as the ledger's ----------------------------------------------------------------


@pytest.mark.parametrize("document", [DECISIONS, SAVINGS])
@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (TEN, TEN, "to"),
        (TEN, TEN - QUARTER, "to"),
        (TEN, TEN + timedelta(days=31, seconds=1), "from"),
    ],
)
def test_empty_reversed_or_too_long_ranges_are_field_errors(
    gql: GraphQLClient, alice_home: Any, document: str, start: datetime, end: datetime, field: str
) -> None:
    result = gql(document, {"homeId": alice_home.pk, "from": iso(start), "to": iso(end)})
    assert result["data"] is None
    error = result["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_RANGE", field)
    assert "to" in error["message"] or "31 days" in error["message"]


# --- isolation: another user gets nothing, exactly as for an id that does not exist ---------


@pytest.mark.parametrize("document", [DECISIONS, SAVINGS])
def test_another_users_decisions_and_savings_read_as_missing(
    other_gql: GraphQLClient, alice_home: Any, document: str
) -> None:
    theirs = other_gql(document, {"homeId": alice_home.pk, **span(3)})
    missing = other_gql(document, {"homeId": MISSING_ID, **span(3)})
    assert theirs == missing
    assert theirs["data"] is None
    assert theirs["errors"][0]["message"] == "Home not found."
    assert theirs["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("document", [DECISIONS, SAVINGS])
def test_anonymous_callers_get_nothing(anon: GraphQLClient, alice_home: Any, document: str) -> None:
    result = anon(document, {"homeId": alice_home.pk, **span(3)})
    assert not (result["data"] or {}).get("decisions") and not (result["data"] or {}).get("savings")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
