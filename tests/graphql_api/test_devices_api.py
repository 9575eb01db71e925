"""Homes and devices through GraphQL: every mutation and query, its errors, and its cost."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devices.models import Device, ElectricVehicle, Home
from tests.conftest import GraphQLClient
from tests.devices.factories import (
    ALL_DEVICE_FACTORIES,
    BatteryFactory,
    ElectricVehicleFactory,
    HomeFactory,
    SolarPanelFactory,
)

pytestmark = pytest.mark.django_db

OP_INFO = "... on OperationInfo { messages { field message kind code } }"

CREATE_HOME = f"""
mutation($input: HomeInput!) {{
  createHome(input: $input) {{ ... on Home {{ id name timezone baseLoadW }} {OP_INFO} }}
}}"""
UPDATE_HOME = f"""
mutation($id: ID!, $input: HomePatch!) {{
  updateHome(id: $id, input: $input) {{ ... on Home {{ id name latitude }} {OP_INFO} }}
}}"""
DELETE_HOME = f"""
mutation($id: ID!) {{ deleteHome(id: $id) {{ ... on Home {{ id name }} {OP_INFO} }} }}"""
HOMES = "{ homes { id name devices { id __typename } } }"
HOME = "query($id: ID!) { home(id: $id) { id name devices { id } } }"
DEVICE = """
query($id: ID!) {
  device(id: $id) {
    __typename id name kind source status homeId createdAt lastSeenAt
    ... on SolarPanel { panelAreaM2 efficiency ratedPowerW tiltDeg azimuthDeg }
    ... on Generator { ratedPowerW running }
    ... on Battery { capacityWh maxChargeW maxDischargeW roundTripEfficiency minSoc }
    ... on ElectricVehicle {
      batteryCapacityWh maxChargeW maxDischargeW mode targetSoc reserveSoc
      drivingWhPerHour awayDays departureTime arrivalTime
    }
    ... on Heater { ratedPowerW setpointC }
    ... on AirConditioner { ratedPowerW setpointC }
    ... on EnergyMeter {
      reportingIntervalS voltageV currentA powerW energyWh frequencyHz powerFactor
    }
  }
}"""
DEVICES = """
query($homeId: ID, $kind: DeviceKind, $source: DeviceSource, $status: DeviceStatus,
      $first: Int!, $after: String) {
  devices(homeId: $homeId, kind: $kind, source: $source, status: $status,
          first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { __typename id name kind
      ... on SolarPanel { ratedPowerW } ... on Battery { capacityWh }
      ... on ElectricVehicle { mode } ... on Heater { setpointC }
      ... on AirConditioner { setpointC } ... on Generator { running }
      ... on EnergyMeter { reportingIntervalS } } }
  }
}"""
UPDATE_DEVICE = f"""
mutation($id: ID!, $input: DevicePatch!) {{
  updateDevice(id: $id, input: $input) {{
    ... on DevicePayload {{ device {{ id name status
      ... on SolarPanel {{ tiltDeg }} ... on Heater {{ setpointC }} }} }}
    {OP_INFO}
  }}
}}"""
DELETE_DEVICE = f"""
mutation($id: ID!) {{
  deleteDevice(id: $id) {{ ... on DeletedDevice {{ id name kind }} {OP_INFO} }}
}}"""
SET_EV_MODE = f"""
mutation($id: ID!, $mode: EvMode!) {{
  setEvMode(deviceId: $id, mode: $mode) {{ ... on ElectricVehicle {{ id mode }} {OP_INFO} }}
}}"""

CREATE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("createSolarPanel", "SolarPanel", {"panelAreaM2": 12.5, "ratedPowerW": 2500, "tiltDeg": 25}),
    ("createGenerator", "Generator", {"ratedPowerW": 3000, "running": True}),
    ("createBattery", "Battery", {"capacityWh": 13500, "maxChargeW": 5000, "maxDischargeW": 5000}),
    (
        "createElectricVehicle",
        "ElectricVehicle",
        {"batteryCapacityWh": 60000, "maxChargeW": 7400, "mode": "CHARGING",
         "departureTime": "06:30:00", "awayDays": 31},
    ),
    ("createHeater", "Heater", {"ratedPowerW": 2000, "setpointC": 21}),
    ("createAirConditioner", "AirConditioner", {"ratedPowerW": 2500, "setpointC": 23}),
    ("createEnergyMeter", "EnergyMeter", {"reportingIntervalS": 10}),
]  # fmt: skip


def create(gql: GraphQLClient, mutation: str, typename: str, fields: dict[str, Any]) -> Any:
    document = f"""
    mutation($input: {typename}Input!) {{
      {mutation}(input: $input) {{ ... on {typename} {{ id name kind source status }} {OP_INFO} }}
    }}"""
    return gql(document, {"input": fields})["data"][mutation]


def make_home(gql: GraphQLClient, **overrides: Any) -> str:
    home = {"name": "Casa", "latitude": 40.4, "longitude": -3.7, "timezone": "Europe/Madrid"}
    home.update(overrides)
    return str(gql(CREATE_HOME, {"input": home})["data"]["createHome"]["id"])


# --- homes -------------------------------------------------------------------------------


def test_home_crud(gql: GraphQLClient, user: Any) -> None:
    home_id = make_home(gql, baseLoadW=350)
    assert Home.objects.get(pk=home_id).owner == user
    updated = gql(UPDATE_HOME, {"id": home_id, "input": {"name": "Villa", "latitude": 41.0}})
    assert updated["data"]["updateHome"] == {"id": home_id, "name": "Villa", "latitude": 41.0}
    listed = gql(HOMES)["data"]["homes"]
    assert [h["name"] for h in listed] == ["Villa"]
    assert gql(HOME, {"id": home_id})["data"]["home"]["name"] == "Villa"
    deleted = gql(DELETE_HOME, {"id": home_id})["data"]["deleteHome"]
    assert deleted == {"id": home_id, "name": "Villa"}
    assert not Home.objects.filter(pk=home_id).exists()
    assert gql(HOME, {"id": home_id})["data"]["home"] is None


DELETE_HOME_EVERY_FIELD = f"""
mutation($id: ID!) {{
  deleteHome(id: $id) {{
    ... on Home {{
      id name latitude longitude timezone baseLoadW createdAt updatedAt devices {{ id }}
    }}
    {OP_INFO}
  }}
}}"""


def test_a_deleted_home_answers_with_every_field_as_it_was(gql: GraphQLClient, user: Any) -> None:
    # given a home (found by generated operations: a field past name failed as null)
    home = HomeFactory(owner=user, name="Gone", timezone="Europe/Berlin", base_load_w=310.0)
    BatteryFactory(home=home)
    # when it is deleted, asking for every field
    result = gql(DELETE_HOME_EVERY_FIELD, {"id": home.pk})
    # then the answer is the home as it was, with no error, and it is gone
    assert "errors" not in result, result
    deleted = result["data"]["deleteHome"]
    assert {k: deleted[k] for k in ("id", "name", "timezone", "baseLoadW", "latitude")} == {
        "id": str(home.pk),
        "name": "Gone",
        "timezone": "Europe/Berlin",
        "baseLoadW": 310.0,
        "latitude": home.latitude,
    }
    assert deleted["createdAt"] and deleted["updatedAt"] and deleted["devices"] == []
    assert not Home.objects.filter(pk=home.pk).exists()
    assert not Device.objects.filter(home_id=home.pk).exists()


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"latitude": 95}, "latitude"),
        ({"longitude": -200}, "longitude"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"name": ""}, "name"),
        ({"baseLoadW": -3}, "baseLoadW"),
    ],
)
def test_create_home_errors_point_at_the_field(
    gql: GraphQLClient, fields: dict[str, Any], bad_field: str
) -> None:
    home = {"name": "Casa", "latitude": 40.4, "longitude": -3.7, "timezone": "Europe/Madrid"}
    home.update(fields)
    result = gql(CREATE_HOME, {"input": home})["data"]["createHome"]
    assert [m["field"] for m in result["messages"]] == [bad_field]
    assert result["messages"][0]["kind"] == "VALIDATION"
    assert not Home.objects.exists()


def test_update_home_validates_and_keeps_old_values(gql: GraphQLClient) -> None:
    home_id = make_home(gql)
    result = gql(UPDATE_HOME, {"id": home_id, "input": {"timezone": "Nowhere/Land"}})
    assert result["data"]["updateHome"]["messages"][0]["field"] == "timezone"
    assert Home.objects.get(pk=home_id).timezone == "Europe/Madrid"


def test_malformed_input_is_a_validation_error_not_a_crash(gql: GraphQLClient) -> None:
    result = gql(CREATE_HOME, {"input": {"name": "x", "latitude": "north"}})
    assert result.get("data") is None
    assert "Variable '$input'" in result["errors"][0]["message"]
    assert not Home.objects.exists()


# --- devices -----------------------------------------------------------------------------


@pytest.mark.parametrize(("mutation", "typename", "fields"), CREATE_CASES)
def test_create_every_kind_and_read_it_back(
    gql: GraphQLClient, mutation: str, typename: str, fields: dict[str, Any]
) -> None:
    home_id = make_home(gql)
    created = create(gql, mutation, typename, {"homeId": home_id, "name": "d1", **fields})
    assert created["name"] == "d1"
    physical = typename == "EnergyMeter"
    assert created["source"] == ("PHYSICAL" if physical else "SIMULATED")
    assert created["status"] == ("OFFLINE" if physical else "ONLINE")
    device = gql(DEVICE, {"id": created["id"]})["data"]["device"]
    assert device["__typename"] == typename
    assert device["homeId"] == home_id
    for key, value in fields.items():
        assert device[key] == value, key


@pytest.mark.parametrize(
    ("mutation", "typename", "fields", "bad_field"),
    [
        ("createSolarPanel", "SolarPanel", {"panelAreaM2": 0, "ratedPowerW": 100}, "panelAreaM2"),
        ("createSolarPanel", "SolarPanel",
         {"panelAreaM2": 1, "ratedPowerW": 100, "efficiency": 1.5}, "efficiency"),
        ("createBattery", "Battery",
         {"capacityWh": -1, "maxChargeW": 1, "maxDischargeW": 1}, "capacityWh"),
        ("createBattery", "Battery",
         {"capacityWh": 10, "maxChargeW": 1, "maxDischargeW": 1, "minSoc": 1.5}, "minSoc"),
        ("createElectricVehicle", "ElectricVehicle",
         {"batteryCapacityWh": 1000, "maxChargeW": 10, "targetSoc": 2}, "targetSoc"),
        ("createHeater", "Heater", {"ratedPowerW": 0}, "ratedPowerW"),
        ("createAirConditioner", "AirConditioner",
         {"ratedPowerW": 10, "setpointC": 99}, "setpointC"),
        ("createGenerator", "Generator", {"ratedPowerW": -10}, "ratedPowerW"),
        ("createEnergyMeter", "EnergyMeter", {"reportingIntervalS": 0}, "reportingIntervalS"),
    ],
)  # fmt: skip
def test_create_device_errors_point_at_the_field(
    gql: GraphQLClient, mutation: str, typename: str, fields: dict[str, Any], bad_field: str
) -> None:
    home_id = make_home(gql)
    result = create(gql, mutation, typename, {"homeId": home_id, "name": "d", **fields})
    assert bad_field in [m["field"] for m in result["messages"]]
    assert not Device.objects.exists()


def test_create_device_in_unknown_home(gql: GraphQLClient) -> None:
    result = create(
        gql, "createHeater", "Heater", {"homeId": "999999", "name": "h", "ratedPowerW": 1}
    )
    assert result["messages"] == [
        {"field": "homeId", "message": "Home not found.", "kind": "VALIDATION", "code": "not_found"}
    ]


def test_update_device(gql: GraphQLClient, user: Any) -> None:
    panel = SolarPanelFactory(home=HomeFactory(owner=user))
    result = gql(UPDATE_DEVICE, {"id": panel.pk, "input": {"name": "East", "tiltDeg": 15}})
    assert result["data"]["updateDevice"]["device"] == {
        "id": str(panel.pk), "name": "East", "status": "ONLINE", "tiltDeg": 15.0,
    }  # fmt: skip
    panel.refresh_from_db()
    assert (panel.name, panel.tilt_deg) == ("East", 15.0)


def test_update_device_rejects_fields_of_another_kind(gql: GraphQLClient, user: Any) -> None:
    panel = SolarPanelFactory(home=HomeFactory(owner=user), name="P")
    result = gql(UPDATE_DEVICE, {"id": panel.pk, "input": {"name": "Q", "setpointC": 21}})
    messages = result["data"]["updateDevice"]["messages"]
    assert [(m["field"], m["code"]) for m in messages] == [("setpointC", "not_settable")]
    panel.refresh_from_db()
    assert panel.name == "P"  # nothing partially stored


def test_update_device_validates(gql: GraphQLClient, user: Any) -> None:
    panel = SolarPanelFactory(home=HomeFactory(owner=user))
    result = gql(UPDATE_DEVICE, {"id": panel.pk, "input": {"efficiency": 0}})
    assert result["data"]["updateDevice"]["messages"][0]["field"] == "efficiency"
    panel.refresh_from_db()
    assert panel.efficiency == 0.2


def test_delete_device(gql: GraphQLClient, user: Any) -> None:
    battery = BatteryFactory(home=HomeFactory(owner=user), name="B")
    result = gql(DELETE_DEVICE, {"id": battery.pk})["data"]["deleteDevice"]
    assert result == {"id": str(battery.pk), "name": "B", "kind": "battery"}
    assert not Device.objects.filter(pk=battery.pk).exists()
    again = gql(DELETE_DEVICE, {"id": battery.pk})["data"]["deleteDevice"]
    assert again["messages"][0]["message"] == "Device not found."


def test_set_ev_mode(gql: GraphQLClient, user: Any) -> None:
    ev = ElectricVehicleFactory(home=HomeFactory(owner=user))
    for mode in ("CHARGING", "DISCHARGING", "OFFLINE", "IDLE"):
        result = gql(SET_EV_MODE, {"id": ev.pk, "mode": mode})["data"]["setEvMode"]
        assert result == {"id": str(ev.pk), "mode": mode}
        ev.refresh_from_db()
        assert ev.mode == mode.lower()


def test_set_ev_mode_on_another_kind(gql: GraphQLClient, user: Any) -> None:
    panel = SolarPanelFactory(home=HomeFactory(owner=user))
    result = gql(SET_EV_MODE, {"id": panel.pk, "mode": "CHARGING"})["data"]["setEvMode"]
    assert result["messages"][0]["code"] == "wrong_kind"
    bad = gql(SET_EV_MODE, {"id": panel.pk, "mode": "SAILING"})
    assert bad.get("data") is None and "SAILING" in bad["errors"][0]["message"]


# --- listing -----------------------------------------------------------------------------


def test_devices_filters(gql: GraphQLClient, user: Any) -> None:
    home_a, home_b = HomeFactory(owner=user), HomeFactory(owner=user)
    for factory in ALL_DEVICE_FACTORIES:
        factory(home=home_a)
    SolarPanelFactory(home=home_b, status="disabled")

    def names(**filters: Any) -> list[str]:
        data = gql(DEVICES, {"first": 100, **filters})["data"]["devices"]
        assert data["totalCount"] == len(data["edges"])
        return [edge["node"]["__typename"] for edge in data["edges"]]

    assert len(names()) == 8
    assert len(names(homeId=home_a.pk)) == 7
    assert names(homeId=home_b.pk) == ["SolarPanel"]
    assert names(kind="SOLAR_PANEL") == ["SolarPanel", "SolarPanel"]
    assert names(source="PHYSICAL") == ["EnergyMeter"]
    assert names(status="DISABLED") == ["SolarPanel"]
    assert names(homeId=home_a.pk, kind="BATTERY") == ["Battery"]
    assert names(homeId="not-a-number") == []


def test_devices_cursor_pagination(gql: GraphQLClient, user: Any) -> None:
    home = HomeFactory(owner=user)
    made = [SolarPanelFactory(home=home).pk for _ in range(25)]
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = gql(DEVICES, {"first": 10, "after": after})["data"]["devices"]
        seen += [int(edge["node"]["id"]) for edge in page["edges"]]
        pages += 1
        assert page["totalCount"] == 25
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == made


@pytest.mark.parametrize(("first", "after"), [(0, None), (101, None), (10, "bogus!")])
def test_devices_bad_page_arguments(gql: GraphQLClient, first: int, after: str | None) -> None:
    result = gql(DEVICES, {"first": first, "after": after})
    assert result.get("data") is None
    assert result["errors"][0]["extensions"]["code"] in {"BAD_PAGE", "BAD_CURSOR"}


def test_a_page_of_100_mixed_devices_costs_one_query(gql: GraphQLClient, user: Any) -> None:
    home = HomeFactory(owner=user)
    for n in range(100):
        ALL_DEVICE_FACTORIES[n % len(ALL_DEVICE_FACTORIES)](home=home)
    with CaptureQueriesContext(connection) as queries:
        page = gql(DEVICES, {"first": 100})["data"]["devices"]
    typenames = {edge["node"]["__typename"] for edge in page["edges"]}
    assert len(page["edges"]) == 100 and len(typenames) == 7
    # one query for the page (every kind's table LEFT JOINed), one for totalCount, and the
    # token's check that its user is still active
    assert len(queries) == 3, [q["sql"][:120] for q in queries]


def test_homes_with_devices_costs_two_queries(gql: GraphQLClient, user: Any) -> None:
    for _ in range(5):
        home = HomeFactory(owner=user)
        for factory in ALL_DEVICE_FACTORIES:
            factory(home=home)
    with CaptureQueriesContext(connection) as queries:
        homes = gql(HOMES)["data"]["homes"]
    assert sum(len(h["devices"]) for h in homes) == 35
    assert len(queries) == 3  # homes, their devices, and the token's user still active


def test_ev_schedule_fields(gql: GraphQLClient, user: Any) -> None:
    ev = ElectricVehicleFactory(home=HomeFactory(owner=user))
    assert isinstance(ev, ElectricVehicle)
    device = gql(DEVICE, {"id": ev.pk})["data"]["device"]
    assert (device["departureTime"], device["arrivalTime"], device["awayDays"]) == (
        "07:00:00", "18:00:00", 31,
    )  # fmt: skip
