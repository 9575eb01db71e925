"""setOptimizationGoal, forecast and plan: the caller's own homes only, field errors for
mistakes, a plan no dearer than the greedy rule, and the fallback said out loud."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from planner.models import HomePlan, OptimizationGoal
from tests.conftest import GraphQLClient
from tests.devices.factories import (
    BatteryFactory,
    ElectricVehicleFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.grid.factories import TariffFactory, TariffPeriodFactory

pytestmark = pytest.mark.django_db

MISSING_ID = "987654321"
ZONE = "Europe/London"
OP_INFO = "... on OperationInfo { messages { field message kind code } }"
GOAL_FIELDS = "homeId objective gridImportMaxW gridExportMaxW"
SET_GOAL = f"""
mutation($homeId: ID!, $input: OptimizationGoalInput!) {{
  setOptimizationGoal(homeId: $homeId, input: $input) {{
    ... on OptimizationGoal {{ {GOAL_FIELDS} }} {OP_INFO}
  }}
}}"""
FORECAST = """
query($homeId: ID!, $hours: Int!) {
  forecast(homeId: $homeId, hours: $hours) {
    homeId currency
    intervals { start end pvW baseLoadW heatingW coolingW vehicleHome vehicleDrivingWh
                importPricePerKwh exportPricePerKwh carbonIntensity temperatureC cloudCover }
  }
}"""
OUTCOME = "cost carbonG selfConsumption comfortViolationKH"
PLAN = f"""
query($homeId: ID!) {{
  plan(homeId: $homeId) {{
    homeId objective status fallback reason currency inputsHash startsAt createdAt
    intervalMinutes expectedCostSaving expectedCarbonSavingG
    expected {{ {OUTCOME} }} baseline {{ {OUTCOME} }}
    intervals {{ start end gridImportW gridExportW curtailedW pvW baseLoadW indoorC }}
    devices {{ deviceId kind name powerW levelWh }}
  }}
}}"""


def local_now() -> datetime:
    return datetime.now(UTC).astimezone(ZoneInfo(ZONE))


def local_time_in(hours: float) -> time:
    return (local_now() + timedelta(hours=hours)).time().replace(second=0, microsecond=0)


@pytest.fixture
def alice_home(user: Any) -> Any:
    return HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone=ZONE)


@pytest.fixture
def time_of_use(alice_home: Any) -> Any:
    """Cheap nights (00:00-07:00 at 0.10), dear days (0.30), exports paid 0.05."""
    tariff = TariffFactory(
        home=alice_home,
        kind="time_of_use",
        import_price_per_kwh=None,
        export_price_per_kwh=0.05,
    )
    TariffPeriodFactory(tariff=tariff, start=time(0, 0), end=time(7, 0), import_price_per_kwh=0.1)
    TariffPeriodFactory(tariff=tariff, start=time(7, 0), end=time(0, 0), import_price_per_kwh=0.3)
    return tariff


def commuter(home: Any, **fields: Any) -> Any:
    """A car at home now that leaves every day in six hours and is back four hours later."""
    values: dict[str, Any] = {
        "home": home,
        "battery_capacity_wh": 60_000.0,
        "max_charge_w": 7400.0,
        "max_discharge_w": 0.0,
        "target_soc": 0.8,
        "reserve_soc": 0.2,
        "level_wh": 30_000.0,
        "away_days": 0b1111111,
        "departure_time": local_time_in(6),
        "arrival_time": local_time_in(10),
        "driving_wh_per_hour": 2000.0,
    }
    values.update(fields)
    return ElectricVehicleFactory(**values)


# --- setOptimizationGoal --------------------------------------------------------------------


def test_set_optimization_goal_stores_the_goal(gql: GraphQLClient, alice_home: Any) -> None:
    variables = {"homeId": alice_home.pk, "input": {"objective": "CARBON", "gridExportMaxW": 0.0}}
    goal = gql(SET_GOAL, variables)["data"]["setOptimizationGoal"]
    assert goal == {
        "homeId": str(alice_home.pk),
        "objective": "CARBON",
        "gridImportMaxW": OptimizationGoal._meta.get_field("grid_import_max_w").default,
        "gridExportMaxW": 0.0,
    }
    again = {"homeId": alice_home.pk, "input": {"objective": "SELF_CONSUMPTION"}}
    goal = gql(SET_GOAL, again)["data"]["setOptimizationGoal"]
    assert (goal["objective"], goal["gridExportMaxW"]) == ("SELF_CONSUMPTION", 0.0)
    stored = OptimizationGoal.objects.get(home=alice_home)
    assert (stored.objective, stored.grid_export_max_w) == ("self_consumption", 0.0)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"gridImportMaxW": -1.0}, "gridImportMaxW"),
        ({"gridExportMaxW": 1e12}, "gridExportMaxW"),
    ],
)
def test_goal_mistakes_are_field_errors_and_nothing_is_stored(
    gql: GraphQLClient, alice_home: Any, fields: dict[str, float], field: str
) -> None:
    variables = {"homeId": alice_home.pk, "input": {"objective": "COST", **fields}}
    result = gql(SET_GOAL, variables)["data"]["setOptimizationGoal"]
    assert [m["field"] for m in result["messages"]] == [field]
    assert result["messages"][0]["kind"] == "VALIDATION"
    assert not OptimizationGoal.objects.exists()


def test_an_unknown_objective_is_refused(gql: GraphQLClient, alice_home: Any) -> None:
    result = gql(SET_GOAL, {"homeId": alice_home.pk, "input": {"objective": "SPEED"}})
    assert result["data"] is None and result["errors"]
    assert not OptimizationGoal.objects.exists()


# --- forecast -------------------------------------------------------------------------------


def test_forecast_gives_each_quarter_hour_with_the_tariffs_prices(
    gql: GraphQLClient, alice_home: Any, time_of_use: Any
) -> None:
    SolarPanelFactory(home=alice_home)
    commuter(alice_home)
    forecast = gql(FORECAST, {"homeId": alice_home.pk, "hours": 30})["data"]["forecast"]
    rows = forecast["intervals"]
    assert forecast["homeId"] == str(alice_home.pk) and len(rows) == 30 * 4
    zone = ZoneInfo(ZONE)
    for before, after in pairwise(rows):
        assert before["end"] == after["start"]
    for row in rows:
        start = datetime.fromisoformat(row["start"])
        assert datetime.fromisoformat(row["end"]) - start == timedelta(minutes=15)
        assert start.minute % 15 == 0
        assert row["importPricePerKwh"] == (0.1 if start.astimezone(zone).hour < 7 else 0.3)
        assert row["exportPricePerKwh"] == 0.05
        assert row["pvW"] >= 0.0 and row["baseLoadW"] > 0.0 and row["carbonIntensity"] >= 0.0
        assert 0.0 <= row["cloudCover"] <= 1.0
        assert row["vehicleDrivingWh"] == (0.0 if row["vehicleHome"] else 2000.0 / 4)
    away = [not row["vehicleHome"] for row in rows]
    assert any(away) and not all(away)
    assert max(row["pvW"] for row in rows) > 0.0  # 30 hours hold a day in London
    assert min(row["pvW"] for row in rows) == 0.0  # and a night


@pytest.mark.parametrize("hours", [0, 49, -3])
def test_forecast_hours_outside_1_to_48_are_a_field_error(
    gql: GraphQLClient, alice_home: Any, hours: int
) -> None:
    result = gql(FORECAST, {"homeId": alice_home.pk, "hours": hours})
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["field"] == "hours"


# --- plan -----------------------------------------------------------------------------------


@pytest.fixture
def equipped_home(alice_home: Any, time_of_use: Any) -> Any:
    """Solar, a battery at its floor and a commuting car, under the time-of-use tariff."""
    SolarPanelFactory(home=alice_home, rated_power_w=4000.0, panel_area_m2=20.0)
    BatteryFactory(home=alice_home, capacity_wh=10_000.0, min_soc=0.1, level_wh=1000.0)
    commuter(alice_home)
    return alice_home


def test_a_plan_costs_no_more_than_the_greedy_rule_and_meets_the_departure(
    gql: GraphQLClient, equipped_home: Any
) -> None:
    plan = gql(PLAN, {"homeId": equipped_home.pk})["data"]["plan"]
    assert (plan["status"], plan["fallback"], plan["reason"]) == ("optimal", False, None)
    assert plan["objective"] == "COST" and plan["intervalMinutes"] == 15
    assert len(plan["intervals"]) == 96
    assert plan["expected"]["cost"] <= plan["baseline"]["cost"]
    assert plan["expectedCostSaving"] == pytest.approx(
        plan["baseline"]["cost"] - plan["expected"]["cost"]
    )
    kinds = sorted(d["kind"] for d in plan["devices"])
    assert kinds == ["battery", "electric_vehicle"]
    car = next(d for d in plan["devices"] if d["kind"] == "electric_vehicle")
    battery = next(d for d in plan["devices"] if d["kind"] == "battery")
    assert all(len(d["powerW"]) == 96 for d in plan["devices"])
    assert all(1000.0 - 1e-3 <= level <= 10_000.0 + 1e-3 for level in battery["levelWh"])
    # The car leaves six hours from now: before that its level reaches 80 % of 60 kWh.
    forecast = gql(FORECAST, {"homeId": equipped_home.pk, "hours": 24})["data"]["forecast"]
    home = [row["vehicleHome"] for row in forecast["intervals"]]
    last_home = next(t for t in range(95) if home[t] and not home[t + 1])
    assert car["levelWh"][last_home] >= 0.8 * 60_000.0 - 1e-3
    # Energy balance of every interval, from the plan's own flows and setpoints.
    for t, row in enumerate(plan["intervals"]):
        drawn = row["baseLoadW"] + sum(d["powerW"][t] for d in plan["devices"])
        supplied = row["pvW"] - row["curtailedW"] + row["gridImportW"] - row["gridExportW"]
        assert drawn == pytest.approx(supplied, abs=1e-3)


def test_one_plan_is_stored_per_home_and_a_new_goal_makes_a_new_one(
    gql: GraphQLClient, equipped_home: Any
) -> None:
    # Reuse within a quarter hour at chosen instants: tests/planner/test_services.py.
    first = gql(PLAN, {"homeId": equipped_home.pk})["data"]["plan"]
    gql(PLAN, {"homeId": equipped_home.pk})
    assert HomePlan.objects.filter(home=equipped_home).count() == 1
    gql(SET_GOAL, {"homeId": equipped_home.pk, "input": {"objective": "CARBON"}})
    third = gql(PLAN, {"homeId": equipped_home.pk})["data"]["plan"]
    assert third["objective"] == "CARBON"
    assert third["inputsHash"] != first["inputsHash"]
    assert third["createdAt"] > first["createdAt"]
    assert third["expected"]["carbonG"] <= third["baseline"]["carbonG"] + 1e-6


def test_a_car_target_out_of_reach_falls_back_to_the_greedy_rule(
    gql: GraphQLClient, alice_home: Any, time_of_use: Any
) -> None:
    # Empty, 100 kWh to 100 % in six hours on a 1 kW charger: no plan can meet it.
    commuter(
        alice_home,
        battery_capacity_wh=100_000.0,
        max_charge_w=1000.0,
        target_soc=1.0,
        level_wh=0.0,
    )
    plan = gql(PLAN, {"homeId": alice_home.pk})["data"]["plan"]
    assert (plan["status"], plan["fallback"]) == ("fallback", True)
    assert plan["expected"] == plan["baseline"]
    assert plan["devices"][0]["powerW"][0] == 1000.0  # the greedy rule: full power when home


# --- isolation: another user gets nothing, exactly as for an id that does not exist ---------


def test_another_user_cannot_set_a_goal(other_gql: GraphQLClient, alice_home: Any) -> None:
    goal = {"objective": "CARBON"}
    theirs = other_gql(SET_GOAL, {"homeId": alice_home.pk, "input": goal})
    missing = other_gql(SET_GOAL, {"homeId": MISSING_ID, "input": goal})
    assert theirs == missing
    assert theirs["data"]["setOptimizationGoal"]["messages"][0]["field"] == "homeId"
    assert theirs["data"]["setOptimizationGoal"]["messages"][0]["code"] == "not_found"
    assert not OptimizationGoal.objects.exists()


def test_another_users_forecast_and_plan_read_as_missing(
    other_gql: GraphQLClient, equipped_home: Any
) -> None:
    for document, variables in (
        (FORECAST, {"homeId": equipped_home.pk, "hours": 24}),
        (PLAN, {"homeId": equipped_home.pk}),
    ):
        theirs = other_gql(document, variables)
        missing = other_gql(document, {**variables, "homeId": MISSING_ID})
        assert theirs == missing
        assert theirs["data"] is None
        assert theirs["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert not HomePlan.objects.exists()


def test_anonymous_callers_get_nothing(anon: GraphQLClient, equipped_home: Any) -> None:
    for document, variables in (
        (FORECAST, {"homeId": equipped_home.pk, "hours": 24}),
        (PLAN, {"homeId": equipped_home.pk}),
        (SET_GOAL, {"homeId": equipped_home.pk, "input": {"objective": "COST"}}),
    ):
        result = anon(document, variables)
        assert not any((result["data"] or {}).values())
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not OptimizationGoal.objects.exists() and not HomePlan.objects.exists()


# --- optimizationGoal -----------------------------------------------------------------------

GOAL = f"query($homeId: ID!) {{ optimizationGoal(homeId: $homeId) {{ {GOAL_FIELDS} }} }}"


def test_the_goal_is_null_until_set_and_then_the_stored_one(
    gql: GraphQLClient, alice_home: Any
) -> None:
    assert gql(GOAL, {"homeId": alice_home.pk})["data"] == {"optimizationGoal": None}
    gql(SET_GOAL, {"homeId": alice_home.pk, "input": {"objective": "CARBON"}})
    goal = gql(GOAL, {"homeId": alice_home.pk})["data"]["optimizationGoal"]
    stored = OptimizationGoal.objects.get(home=alice_home)
    assert goal == {
        "homeId": str(alice_home.pk),
        "objective": "CARBON",
        "gridImportMaxW": stored.grid_import_max_w,
        "gridExportMaxW": stored.grid_export_max_w,
    }


def test_another_users_goal_reads_as_missing(other_gql: GraphQLClient, alice_home: Any) -> None:
    OptimizationGoal.objects.create(home=alice_home, objective="carbon")
    theirs = other_gql(GOAL, {"homeId": alice_home.pk})
    missing = other_gql(GOAL, {"homeId": MISSING_ID})
    assert theirs == missing
    assert theirs["data"] == {"optimizationGoal": None}
    assert theirs["errors"][0]["message"] == "Home not found."
