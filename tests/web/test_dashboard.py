"""The dashboard in a real browser against a real server, worker and beat (2 s tick)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.models import RefreshToken
from tests.devices.factories import (
    BatteryFactory,
    ElectricVehicleFactory,
    GeneratorFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.web.browser import PHONE, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _home(owner: Any) -> Any:
    home = HomeFactory(owner=owner, name="Maple Cottage", latitude=51.5, longitude=-0.1,
                       timezone="Europe/London")  # fmt: skip
    SolarPanelFactory(home=home, name="Roof panels")
    BatteryFactory(home=home, name="Home battery", level_wh=5000.0)
    ElectricVehicleFactory(home=home, name="Family car")
    # a running generator keeps the battery charging, day or night: its store moves every tick
    GeneratorFactory(home=home, name="Backup generator", running=True)
    return home


def test_login_shows_the_homes_and_logout_ends_the_session(
    signed_in: Any, user: Any, server: Any
) -> None:
    # given a user with a home
    _home(user)

    # when they sign in through the form
    page: Page = signed_in(user)

    # then the homes overview lists their home, and the session is open on the server
    expect(page.get_by_role("link", name="Maple Cottage")).to_be_visible()
    assert RefreshToken.objects.filter(user=user, revoked_at__isnull=True).count() == 1
    screenshot(page, "homes")

    # when they sign out
    page.get_by_role("button", name="Sign out").click()

    # then the sign-in form is back, the server revoked the session, and a reload keeps it closed
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert RefreshToken.objects.filter(user=user, revoked_at__isnull=True).count() == 0
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "login")
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    screenshot(page, "login-phone")


# Records, in the page, each stats instant the flow diagram shows with its numbers, and every
# moment it shows stale after the first live value.
FLOW_RECORDER = """() => {
  const figure = document.querySelector('figure.flow');
  const seen = (window.__flow = { stale: [], snapshots: [] });
  let live = false;
  const record = () => {
    if (figure.dataset.stale === 'false') live = true;
    else if (live) seen.stale.push(new Date().toISOString());
    const instant = figure.dataset.timestamp;
    const last = seen.snapshots[seen.snapshots.length - 1];
    const numbers = [...figure.querySelectorAll('[data-flow-value], [data-flow-soc], [data-flow-level]')]
      .map((element) => element.textContent);
    if (live && instant && (!last || last.instant !== instant)) {
      seen.snapshots.push({ instant, numbers });
    } else if (last && last.instant === instant) {
      last.numbers = numbers;  // device states of the same tick arrive one by one
    }
  };
  new MutationObserver(record).observe(figure, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
  record();
}"""


def _open_home(page: Page, home: Any) -> None:
    page.get_by_role("link", name=home.name).click()
    expect(page.get_by_role("heading", name=home.name, level=1)).to_be_visible()


def test_the_flow_diagram_moves_with_each_tick_and_is_never_stale_while_ticks_are_on_time(
    ticking: Any, signed_in: Any, user: Any
) -> None:
    # given a home with solar, a battery and a car, simulated every 2 s by a real worker
    home = _home(user)
    page: Page = signed_in(user)
    _open_home(page, home)
    expect(page.locator("figure.flow")).to_have_attribute("data-stale", "false", timeout=30_000)

    # when the page follows six ticks
    page.evaluate(FLOW_RECORDER)
    page.wait_for_function("() => window.__flow.snapshots.length >= 7", timeout=60_000)
    seen = page.evaluate("() => window.__flow")

    # then each tick shows a later instant, its numbers change, and it never showed stale
    snapshots = seen["snapshots"][1:]  # the first may have been caught half-way
    instants = [s["instant"] for s in snapshots]
    assert instants == sorted(set(instants)), instants
    for before, after in pairwise(snapshots):
        assert before["numbers"] != after["numbers"], (before, after)
    assert seen["stale"] == []
    screenshot(page, "home-flow")
