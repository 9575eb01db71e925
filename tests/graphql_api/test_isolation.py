"""A second user gets nothing of the first user's, through every query and mutation.

Each case reads exactly like the id not existing at all.
"""

from typing import Any

import pytest

from devices.models import Device, ElectricVehicle, Home
from tests.conftest import GraphQLClient
from tests.devices.factories import (
    ALL_DEVICE_FACTORIES,
    ElectricVehicleFactory,
    HomeFactory,
)
from tests.graphql_api.test_devices_api import (
    CREATE_CASES,
    DELETE_DEVICE,
    DELETE_HOME,
    DEVICE,
    DEVICES,
    HOME,
    HOMES,
    SET_EV_MODE,
    UPDATE_DEVICE,
    UPDATE_HOME,
    create,
)

pytestmark = pytest.mark.django_db

MISSING_ID = "987654321"


@pytest.fixture
def alice_home(user: Any) -> Any:
    home = HomeFactory(owner=user, name="Alice's")
    for factory in ALL_DEVICE_FACTORIES:
        factory(home=home, name=f"alice-{factory._meta.model.__name__}")
    return home


def messages(result: dict[str, Any], field: str) -> list[dict[str, Any]]:
    return list(result["data"][field]["messages"])


def test_lists_are_empty_for_another_user(other_gql: GraphQLClient, alice_home: Home) -> None:
    assert other_gql(HOMES)["data"]["homes"] == []
    page = other_gql(DEVICES, {"first": 100})["data"]["devices"]
    assert page["edges"] == [] and page["totalCount"] == 0
    filtered = other_gql(DEVICES, {"first": 100, "homeId": alice_home.pk})["data"]["devices"]
    assert filtered["edges"] == [] and filtered["totalCount"] == 0


def test_single_reads_look_missing(other_gql: GraphQLClient, alice_home: Home) -> None:
    assert other_gql(HOME, {"id": alice_home.pk}) == other_gql(HOME, {"id": MISSING_ID})
    assert other_gql(HOME, {"id": alice_home.pk})["data"]["home"] is None
    for device in Device.objects.filter(home=alice_home):
        assert other_gql(DEVICE, {"id": device.pk}) == {"data": {"device": None}}


def test_home_mutations_look_missing(other_gql: GraphQLClient, alice_home: Home) -> None:
    for document, field, variables in [
        (UPDATE_HOME, "updateHome", {"input": {"name": "pwned"}}),
        (DELETE_HOME, "deleteHome", {}),
    ]:
        theirs = messages(other_gql(document, {"id": alice_home.pk, **variables}), field)
        missing = messages(other_gql(document, {"id": MISSING_ID, **variables}), field)
        assert theirs == missing
    alice_home.refresh_from_db()
    assert alice_home.name == "Alice's"


@pytest.mark.parametrize(("mutation", "typename", "fields"), CREATE_CASES)
def test_cannot_create_devices_in_another_users_home(
    other_gql: GraphQLClient, alice_home: Home, mutation: str, typename: str, fields: dict[str, Any]
) -> None:
    before = Device.objects.count()
    theirs = create(other_gql, mutation, typename, {"homeId": alice_home.pk, "name": "x", **fields})
    missing = create(other_gql, mutation, typename, {"homeId": MISSING_ID, "name": "x", **fields})
    assert theirs == missing
    assert theirs["messages"][0]["message"] == "Home not found."
    assert Device.objects.count() == before


def test_device_mutations_look_missing(other_gql: GraphQLClient, alice_home: Home) -> None:
    for device in Device.objects.filter(home=alice_home):
        cases: list[tuple[str, str, dict[str, Any]]] = [
            (UPDATE_DEVICE, "updateDevice", {"id": device.pk, "input": {"name": "pwned"}}),
            (DELETE_DEVICE, "deleteDevice", {"id": device.pk}),
        ]
        for document, field, variables in cases:
            theirs = messages(other_gql(document, variables), field)
            missing = messages(other_gql(document, {**variables, "id": MISSING_ID}), field)
            assert theirs == missing == [
                {"field": "id" if field == "deleteDevice" else "deviceId",
                 "message": "Device not found.", "kind": "VALIDATION", "code": "not_found"}
            ]  # fmt: skip
    assert Device.objects.filter(home=alice_home, name="pwned").count() == 0
    assert Device.objects.filter(home=alice_home).count() == len(ALL_DEVICE_FACTORIES)


def test_set_ev_mode_looks_missing(other_gql: GraphQLClient, user: Any) -> None:
    ev = ElectricVehicleFactory(home=HomeFactory(owner=user), mode="idle")
    theirs = messages(other_gql(SET_EV_MODE, {"id": ev.pk, "mode": "DISCHARGING"}), "setEvMode")
    missing = messages(
        other_gql(SET_EV_MODE, {"id": MISSING_ID, "mode": "DISCHARGING"}), "setEvMode"
    )
    assert theirs == missing
    assert ElectricVehicle.objects.get(pk=ev.pk).mode == "idle"


def test_nested_devices_of_a_home_are_the_owners(
    gql: GraphQLClient, other_gql: GraphQLClient, alice_home: Home, other_user: Any
) -> None:
    HomeFactory(owner=other_user)
    mine = gql(HOMES)["data"]["homes"]
    assert len(mine) == 1 and len(mine[0]["devices"]) == len(ALL_DEVICE_FACTORIES)
    theirs = other_gql(HOMES)["data"]["homes"]
    assert len(theirs) == 1 and theirs[0]["devices"] == []
