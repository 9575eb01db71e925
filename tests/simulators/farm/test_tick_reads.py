"""Live reads over HTTP through real ticks (a real worker and beat at a 2 s tick, a real ASGI
server): values shaped once per value and process are never older than what Redis holds when
the request starts, and never another user's."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from django.core.management import call_command

from devices.live import store
from tests.accounts.factories import UserFactory
from tests.conftest import token_for
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory
from tests.graphql_api.live_server import live_server
from tests.polling import wait_until
from tests.simulators.farm.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TICK_S = 2
TICKS = 4
STATS = """query ($homeId: ID) {
  energyStats(homeId: $homeId) { homeId productionW consumptionW timestamp stale }
}"""


@pytest.fixture
def two_second_ticks(settings: Any) -> None:
    settings.TICK_SECONDS = TICK_S
    call_command("setup_schedule")


def _instant(value: str | None) -> float | None:
    return None if value is None else datetime.fromisoformat(value).timestamp()


def _owner_with_home(name: str, base_load_w: float) -> tuple[Any, Any]:
    owner = UserFactory(username=name)
    home = HomeFactory(owner=owner, base_load_w=base_load_w, latitude=51.5, longitude=-0.1)
    SolarPanelFactory(home=home)
    BatteryFactory(home=home, level_wh=4000.0)
    return owner, home


def test_reads_follow_every_tick_and_stay_each_users_own(
    stack: Stack, two_second_ticks: None, tmp_path: Any
) -> None:
    # given two users with one home each, and the farm ticking every 2 s
    people = [_owner_with_home("alice", 400.0), _owner_with_home("bob", 2500.0)]
    stack.worker(concurrency=2)
    stack.beat(tmp_path)
    wait_until(
        lambda: all(store.user_stats(owner.pk) is not None for owner, _ in people),
        "the first tick",
        30,
    )
    seen_stamps: set[float] = set()
    checked = 0
    with live_server() as server, httpx.Client(timeout=10) as http:
        url = f"http://127.0.0.1:{server.port}/graphql/"
        deadline = time.monotonic() + TICKS * TICK_S
        while time.monotonic() < deadline:
            for owner, home in people:
                headers = {"Authorization": f"Bearer {token_for(owner)}"}
                for variables, read in (
                    ({}, lambda owner=owner, home=home: store.user_stats(owner.pk)),
                    (
                        {"homeId": str(home.pk)},
                        lambda owner=owner, home=home: store.home_stats([home.pk])[0],
                    ),
                ):
                    # when the same document is sent by both users, again and again
                    before = read()
                    body = {"query": STATS, "variables": variables}
                    answer = http.post(url, json=body, headers=headers).json()
                    after = read()
                    stats = answer["data"]["energyStats"]
                    # then never a value older than the one stored when the request began
                    stamp = _instant(stats["timestamp"])
                    assert before is not None and after is not None and stamp is not None
                    assert before["ts"] <= stamp <= after["ts"], (before, stats, after)
                    assert stats["homeId"] == variables.get("homeId")
                    if before["ts"] == after["ts"]:  # no tick in between: exactly the owner's
                        assert stats["productionW"] == pytest.approx(before["production_w"])
                        assert stats["consumptionW"] == pytest.approx(before["consumption_w"])
                        checked += 1
                    assert stats["stale"] is False
                    seen_stamps.add(stamp)
    assert len(seen_stamps) >= TICKS - 1  # the reads crossed tick boundaries
    assert checked > 0
