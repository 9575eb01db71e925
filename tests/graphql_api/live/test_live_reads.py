"""Live reads shaped once per value and process never answer with a stale or foreign value:
two users with the same document, a write followed by a read, a value that expires.

The values are written as the farm and the on-demand step write them (``devices.live.store``);
tests/simulators/farm/test_tick_reads.py drives the same reads through real ticks.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from devices.live import store
from graphql_api.live import shapes
from tests.conftest import GraphQLClient
from tests.devices.factories import BatteryFactory, HomeFactory
from tests.polling import wait_until

pytestmark = pytest.mark.django_db

STATS = "query($homeId: ID) { energyStats(homeId: $homeId) { homeId productionW timestamp stale } }"
DEVICE = "query($id: ID!) { device(id: $id) { live { powerW levelWh stale } } }"


def stats(
    production_w: float, *, ts: float | None = None, valid_s: float = 120.0
) -> dict[str, Any]:
    ts = time.time() if ts is None else ts
    return {
        "production_w": production_w,
        "consumption_w": 500.0,
        "storage_flow_w": 0.0,
        "net_grid_flow_w": 500.0 - production_w,
        "self_sufficiency": 0.5,
        "ts": ts,
        "until": ts + valid_s,
    }


def current(power_w: float) -> dict[str, Any]:
    return {"power_w": power_w, "status": "online", "ts": time.time(), "until": time.time() + 60}


def total(client: GraphQLClient) -> dict[str, Any]:
    result: dict[str, Any] = client(STATS)["data"]["energyStats"]
    return result


def of_home(client: GraphQLClient, home: Any) -> dict[str, Any] | None:
    result: dict[str, Any] | None = client(STATS, {"homeId": str(home.pk)})["data"]["energyStats"]
    return result


def own_home(client: GraphQLClient, home: Any) -> dict[str, Any]:
    result = of_home(client, home)
    assert result is not None and result["homeId"] == str(home.pk)
    return result


def test_two_users_with_the_same_document_get_their_own_values(
    gql: GraphQLClient, other_gql: GraphQLClient, user: Any, other_user: Any
) -> None:
    mine = HomeFactory(owner=user)
    theirs = HomeFactory(owner=other_user)
    at = time.time()
    store.user_stats_write([(user.pk, stats(1000.0, ts=at)), (other_user.pk, stats(2000.0, ts=at))])
    store.home_stats_write([(mine.pk, stats(10.0, ts=at)), (theirs.pk, stats(20.0, ts=at))])
    shaped_before = shapes.user_stats.shaped_count
    for _ in range(3):  # interleaved, repeated: the second and third are answered from memory
        assert total(gql)["productionW"] == 1000.0
        assert total(other_gql)["productionW"] == 2000.0
        assert own_home(gql, mine)["productionW"] == 10.0
        assert own_home(other_gql, theirs)["productionW"] == 20.0
        # the other's home reads as missing, remembered or not
        assert of_home(gql, theirs) is None
        assert of_home(other_gql, mine) is None
    assert shapes.user_stats.shaped_count - shaped_before == 2  # once per user


def test_the_same_bytes_of_two_owners_are_still_two_answers(
    gql: GraphQLClient, other_gql: GraphQLClient, user: Any, other_user: Any
) -> None:
    mine = HomeFactory(owner=user)
    theirs = HomeFactory(owner=other_user)
    value = stats(42.0)
    store.home_stats_write([(mine.pk, value), (theirs.pk, value)])  # byte for byte equal
    assert own_home(gql, mine)["productionW"] == 42.0
    assert own_home(other_gql, theirs)["productionW"] == 42.0


def test_a_write_is_read_at_once(gql: GraphQLClient, user: Any) -> None:
    home = HomeFactory(owner=user)
    battery = BatteryFactory(home=home)
    store.home_stats_write([(home.pk, stats(100.0))])
    store.user_stats_write([(user.pk, stats(100.0))])
    store.device_currents_write([(battery.pk, current(5.0))])
    assert own_home(gql, home)["productionW"] == 100.0
    assert total(gql)["productionW"] == 100.0
    assert gql(DEVICE, {"id": str(battery.pk)})["data"]["device"]["live"]["powerW"] == 5.0
    # an on-demand step writes the home's stats and its devices' values outside a tick
    store.home_stats_write([(home.pk, stats(150.0))])
    store.device_currents_write([(battery.pk, current(7.0))])
    assert own_home(gql, home)["productionW"] == 150.0
    assert gql(DEVICE, {"id": str(battery.pk)})["data"]["device"]["live"]["powerW"] == 7.0
    # the next tick's totals
    store.user_stats_write([(user.pk, stats(175.0))])
    assert total(gql)["productionW"] == 175.0


def test_a_value_that_expires_or_vanishes_is_no_longer_current(
    gql: GraphQLClient, user: Any
) -> None:
    home = HomeFactory(owner=user)
    store.home_stats_write([(home.pk, stats(100.0, valid_s=1.0))])
    assert own_home(gql, home)["stale"] is False
    # the same bytes, read again once past their validUntil, are stale
    wait_until(lambda: own_home(gql, home)["stale"] is True, "the value to expire", 10)
    assert own_home(gql, home)["productionW"] == 100.0
    # a key that is gone (Redis flushed, TTL over) reads as no value, not the remembered one
    store.client().flushdb()
    assert of_home(gql, home) == {
        "homeId": str(home.pk),
        "productionW": None,
        "timestamp": None,
        "stale": True,
    }
