"""Bad input through GraphQL: names, numbers and time zones get a field error, never "Unexpected
error.", and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from devices.models import AlertRule, Device, Home
from tests.conftest import GraphQLClient
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory
from tests.graphql_api.test_devices_api import (
    CREATE_CASES,
    CREATE_HOME,
    OP_INFO,
    UPDATE_DEVICE,
    UPDATE_HOME,
    create,
    make_home,
)

pytestmark = pytest.mark.django_db

HOME = {"name": "Casa", "latitude": 40.4, "longitude": -3.7, "timezone": "Europe/Madrid"}
BAD_NAMES = [
    "",
    "   ",
    "\u3000",  # an ideographic space is blank too
    "Casa\x00",  # NUL: PostgreSQL cannot store it
    "Casa\ud800",  # a lone surrogate: not Unicode text
    "\udc00",
    "two\nlines",
    "bell\x07",
    "\x1b[2Jcleared",
    "del\x7f",
    "c1\x85",
]
SET_ALERT_RULE = f"""
mutation($id: ID!, $input: AlertRuleInput!) {{
  setAlertRule(deviceId: $id, input: $input) {{ ... on AlertRule {{ powerMaxW }} {OP_INFO} }}
}}"""


def messages(result: dict[str, Any], mutation: str) -> list[tuple[str, str]]:
    assert "errors" not in result, result  # a field error, not "Unexpected error."
    return [(m["field"], m["code"]) for m in result["data"][mutation]["messages"]]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_home_name_must_be_readable_text(gql: GraphQLClient, name: str) -> None:
    result = gql(CREATE_HOME, {"input": {**HOME, "name": name}})
    fields = messages(result, "createHome")
    assert {field for field, _ in fields} == {"name"}
    assert not Home.objects.exists()


def test_renaming_a_home_to_garbage_keeps_its_name(gql: GraphQLClient) -> None:
    home_id = make_home(gql)
    result = gql(UPDATE_HOME, {"id": home_id, "input": {"name": "x\x00y"}})
    assert messages(result, "updateHome") == [("name", "invalid")]
    blank = gql(UPDATE_HOME, {"id": home_id, "input": {"name": "  "}})
    assert messages(blank, "updateHome") == [("name", "blank")]
    assert Home.objects.get(pk=home_id).name == "Casa"


@pytest.mark.parametrize(("mutation", "typename", "fields"), CREATE_CASES)
@pytest.mark.parametrize("name", ["Panel\x00", "Panel\ud83d", " "])
def test_a_device_name_must_be_readable_text(
    gql: GraphQLClient, mutation: str, typename: str, fields: dict[str, Any], name: str
) -> None:
    home_id = make_home(gql)
    result = create(gql, mutation, typename, {"homeId": home_id, "name": name, **fields})
    assert "name" in [m["field"] for m in result["messages"]]
    assert not Device.objects.exists()


def test_renaming_a_device_to_garbage_keeps_its_name(gql: GraphQLClient, user: Any) -> None:
    panel = SolarPanelFactory(home=HomeFactory(owner=user), name="Roof")
    for name in ("Roof\x00", "Roof\udfff", "\t"):
        result = gql(UPDATE_DEVICE, {"id": panel.pk, "input": {"name": name}})
        assert [field for field, _ in messages(result, "updateDevice")] == ["name"]
    panel.refresh_from_db()
    assert panel.name == "Roof"


def test_printable_names_of_any_script_are_kept(gql: GraphQLClient) -> None:
    name = "Casa \u00f1 \u5bb6 \U0001f468\u200d\U0001f469\u200d\U0001f467"
    result = gql(CREATE_HOME, {"input": {**HOME, "name": name}})
    assert result["data"]["createHome"]["name"] == name


NUMBER_CASES = [
    (mutation, typename, fields, field)
    for mutation, typename, fields in CREATE_CASES
    for field, value in fields.items()
    if isinstance(value, float | int)
    and not isinstance(value, bool)
    and field not in ("awayDays", "reportingIntervalS")  # integers: 1e308 is not one
]


@pytest.mark.parametrize(("mutation", "typename", "fields", "field"), NUMBER_CASES)
def test_a_device_parameter_of_1e308_is_a_field_error(
    gql: GraphQLClient, mutation: str, typename: str, fields: dict[str, Any], field: str
) -> None:
    home_id = make_home(gql)
    bad = {**fields, field: 1e308}
    result = create(gql, mutation, typename, {"homeId": home_id, "name": "d", **bad})
    assert (field, "out_of_range") in [(m["field"], m["code"]) for m in result["messages"]]
    assert not Device.objects.exists()


def test_updating_a_parameter_to_1e308_keeps_the_old_value(gql: GraphQLClient, user: Any) -> None:
    battery = BatteryFactory(home=HomeFactory(owner=user))
    for field in ("capacityWh", "maxChargeW", "maxDischargeW"):
        result = gql(UPDATE_DEVICE, {"id": battery.pk, "input": {field: 1e308}})
        assert messages(result, "updateDevice") == [(field, "out_of_range")]
    battery.refresh_from_db()
    assert (battery.capacity_wh, battery.max_charge_w) == (10_000.0, 5000.0)


def test_an_infinite_literal_is_a_field_error_not_a_stored_infinity(gql: GraphQLClient) -> None:
    # GraphQL's Float takes the literal 1e400 as infinity; the service must refuse it.
    document = f"""
    mutation {{
      createHome(input: {{name: "Casa", latitude: 1, longitude: 1, timezone: "UTC",
                          baseLoadW: 1e400}}) {{ ... on Home {{ id }} {OP_INFO} }}
    }}"""
    result = gql(document)
    assert messages(result, "createHome") == [("baseLoadW", "not_finite")]
    assert not Home.objects.exists()


@pytest.mark.parametrize("timezone", ["localtime", "Factory", "posixrules", "Europe/Atlantis"])
def test_only_known_time_zones(gql: GraphQLClient, timezone: str) -> None:
    result = gql(CREATE_HOME, {"input": {**HOME, "timezone": timezone}})
    assert messages(result, "createHome") == [("timezone", "unknown")]
    assert not Home.objects.exists()


@pytest.mark.parametrize("timezone", ["UTC", "Europe/Berlin", "America/Argentina/Salta"])
def test_known_time_zones_are_accepted(gql: GraphQLClient, timezone: str) -> None:
    result = gql(CREATE_HOME, {"input": {**HOME, "timezone": timezone}})
    assert "id" in result["data"]["createHome"], result


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"powerMaxW": 1e308}, "powerMaxW"), ({"voltageMaxV": 1e308}, "voltageMaxV")],
)
def test_alert_thresholds_are_bounded(
    gql: GraphQLClient, user: Any, fields: dict[str, Any], field: str
) -> None:
    battery = BatteryFactory(home=HomeFactory(owner=user))
    result = gql(SET_ALERT_RULE, {"id": battery.pk, "input": fields})
    assert messages(result, "setAlertRule") == [(field, "out_of_range")]
    assert not AlertRule.objects.filter(power_max_w__isnull=False).exists()


INSTANT_QUERIES = {
    "energyHistory": "energyHistory(homeId: $id, from: $from, to: $to) { start }",
    "readings": "readings(deviceId: $id, from: $from, to: $to) { measuredAt }",
    "meterEnergyHourly": "meterEnergyHourly(deviceId: $id, from: $from, to: $to) { hour }",
}


@pytest.mark.parametrize("field", sorted(INSTANT_QUERIES))
@pytest.mark.parametrize("inline", [True, False], ids=["literal", "variable"])
def test_an_instant_without_a_utc_offset_is_refused_clearly(
    gql: GraphQLClient, user: Any, field: str, inline: bool
) -> None:
    # given an instant with no offset (found by generated operations: it reached a comparison
    # with aware datetimes and failed as "Unexpected error.")
    home = HomeFactory(owner=user)
    naive, aware = "2026-11-23T13:00:00", "2026-11-23T14:00:00Z"
    selection = INSTANT_QUERIES[field]
    if inline:
        selection = selection.replace("$from", f'"{naive}"')
        document = "query($id: ID!, $to: DateTime!) { " + selection + " }"
        variables = {"id": home.pk, "to": aware}
    else:
        document = "query($id: ID!, $from: DateTime!, $to: DateTime!) { " + selection + " }"
        variables = {"id": home.pk, "from": naive, "to": aware}
    # when it is sent
    result = gql(document, variables)
    # then the error names the value and what it lacks
    assert result.get("data") is None
    [error] = result["errors"]
    assert naive in error["message"] and "UTC offset" in error["message"], error
