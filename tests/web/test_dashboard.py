"""The dashboard in a real browser against a real server, worker and beat (2 s tick)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.models import RefreshToken, User
from devices.hardware import device_authenticate
from devices.models import Alert, ElectricVehicle, EnergyMeter, Home, HomeEnergyHistory
from tests.devices.factories import (
    BatteryFactory,
    ElectricVehicleFactory,
    GeneratorFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.polling import wait_until
from tests.web.browser import PHONE, screenshot
from tests.web.conftest import PASSWORD, TICK_S

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _home(owner: Any) -> Any:
    home = HomeFactory(owner=owner, name="Maple Cottage", latitude=51.5, longitude=-0.1,
                       timezone="Europe/London")  # fmt: skip
    SolarPanelFactory(home=home, name="Roof panels")
    BatteryFactory(home=home, name="Home battery", level_wh=5000.0)
    # at home every day, half full
    ElectricVehicleFactory(home=home, name="Family car", away_days=0, level_wh=30_000.0)
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
    # and the refresh token is out of the page's reach (an httpOnly cookie), yet a reload
    # resumes the session from it
    assert "gridtwin_refresh" not in page.evaluate("() => document.cookie")
    assert any(cookie["name"] == "gridtwin_refresh" for cookie in page.context.cookies())
    page.reload()
    expect(page.get_by_role("link", name="Maple Cottage")).to_be_visible()

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
    const numbers = [...figure.querySelectorAll('[data-flow-value], [data-flow-soc], '
      + '[data-flow-level]')].map((element) => element.textContent);
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
    # (a device's state travels on its own subscription: on a loaded machine one may land after
    # the next tick's stats, which then shows the previous numbers once: at most once a run)
    unchanged = [
        (before, after) for before, after in pairwise(snapshots)
        if before["numbers"] == after["numbers"]
    ]  # fmt: skip
    assert len(unchanged) <= 1, unchanged
    assert seen["stale"] == []
    screenshot(page, "home-flow")


def test_an_ev_mode_set_in_the_page_reaches_the_device_and_shows_within_a_tick(
    ticking: Any, signed_in: Any, user: Any
) -> None:
    # given the home page of a home whose car idles
    home = _home(user)
    car = ElectricVehicle.objects.get(home=home)
    page: Page = signed_in(user)
    _open_home(page, home)
    expect(page.locator('[data-flow-mode="ev"]')).to_have_text("idle", timeout=30_000)

    # when the owner sets it to charging on the car's card
    card = page.locator(f'article[data-device="{car.pk}"]')
    card.get_by_label("Mode").select_option("charging")
    card.get_by_role("button", name="Set mode").click()

    # then the command is acknowledged, the device has the mode, and the next tick shows it
    expect(card.locator("[data-command-status]")).to_have_attribute(
        "data-command-status", "ACKNOWLEDGED"
    )
    car.refresh_from_db()
    assert car.mode == "charging"
    expect(page.locator('[data-flow-mode="ev"]')).to_have_text("charging")
    expect(card.locator('[data-live="mode"]')).to_have_text("charging")
    screenshot(page, "device-command")


def test_a_bad_form_input_shows_the_fields_error_and_stores_nothing(
    signed_in: Any, user: Any
) -> None:
    # given the homes page
    page: Page = signed_in(user)
    page.get_by_role("button", name="Add home").click()
    form = page.get_by_role("form", name="Add a home")

    # when a home is submitted with a latitude off the globe
    form.get_by_label("Name").fill("Nowhere")
    form.get_by_label("Latitude").fill("123")
    form.get_by_label("Longitude").fill("10")
    form.get_by_role("button", name="Add home").click()

    # then the latitude field says why, the form keeps the input, and no home was stored
    error = form.locator('[data-field-error="latitude"]')
    expect(error).to_be_visible()
    expect(form.get_by_label("Latitude")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Name")).to_have_value("Nowhere")
    assert not Home.objects.filter(owner=user).exists()
    screenshot(page, "form-error")

    # and once corrected, it is stored and opened
    form.get_by_label("Latitude").fill("52.5")
    form.get_by_role("button", name="Add home").click()
    expect(page.get_by_role("heading", name="Nowhere", level=1)).to_be_visible()
    assert Home.objects.filter(owner=user, name="Nowhere", latitude=52.5).count() == 1


def test_the_page_keeps_streaming_across_the_access_tokens_expiry(
    ticking: Any, signed_in: Any, user: Any, settings: Any, page: Page
) -> None:
    # given access tokens that last 20 s, and a signed-in page following a home
    settings.JWT_ACCESS_TOKEN_LIFETIME = timedelta(seconds=20)
    home = _home(user)
    sockets: list[Any] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    signed_in(user)
    signed_in_at = datetime.now(UTC)
    _open_home(page, home)
    expect(page.locator("figure.flow")).to_have_attribute("data-stale", "false", timeout=30_000)
    page.evaluate(FLOW_RECORDER)

    # when the page stays open well past the first token's expiry
    later = (signed_in_at + timedelta(seconds=45)).isoformat()
    page.wait_for_function(
        "(later) => window.__flow.snapshots.some((s) => new Date(s.instant) >= new Date(later))",
        arg=later,
        timeout=90_000,
    )
    seen = page.evaluate("() => window.__flow")

    # then values kept coming, never stale, the session renewed itself, the user still signed in
    assert seen["stale"] == []
    instants = [datetime.fromisoformat(s["instant"]) for s in seen["snapshots"]]
    gaps = [(b - a).total_seconds() for a, b in pairwise(instants)]
    assert max(gaps) <= 2 * TICK_S, gaps
    assert RefreshToken.objects.filter(user=user).count() >= 3  # renewed at least twice
    # the server closed the socket opened with an expired token; the page opened another
    assert len(sockets) >= 2, sockets
    expect(page.get_by_test_id("user")).to_have_text(user.username)


def _emulate(server: Any, user: Any, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "firmware.emulate", "--count", "1",
         "--server", f"http://127.0.0.1:{server.port}", "--username", user.username,
         "--password", PASSWORD, "--interval", "1", "--upload-interval", "1",
         "--duration", "120", *extra],
        start_new_session=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


def test_an_emulated_meter_appears_live(
    ticking: Any, signed_in: Any, user: Any, server: Any
) -> None:
    # given a signed-in owner of a home, and an emulated meter run against the server
    home = _home(user)
    page: Page = signed_in(user)
    emulator = _emulate(server, user)
    try:
        wait_until(lambda: EnergyMeter.objects.filter(home=home).exists(), "the meter", 30)
        meter = EnergyMeter.objects.get(home=home)

        # when the owner opens the home
        _open_home(page, home)

        # then the meter's card shows live readings that change as they arrive
        card = page.locator(f'article[data-device="{meter.pk}"]')
        live = card.locator("dl.live")
        expect(live).to_have_attribute("data-stale", "false", timeout=30_000)
        voltage = card.locator('[data-live="voltage"]')
        expect(voltage).to_have_text(re.compile(r"\d+\.\d V"))
        expect(voltage).not_to_have_text(voltage.inner_text(), timeout=30_000)
        expect(page.locator('[data-flow="meters"]')).to_be_visible()
        screenshot(page, "meter-live")

        # and its readings chart has points
        card.get_by_role("link", name="Readings").click()
        expect(page.get_by_test_id("readings-chart").locator("canvas")).to_be_visible()
        screenshot(page, "meter-readings")
    finally:
        _stop(emulator)


def test_an_alert_raised_by_a_meter_shows_live_and_can_be_resolved(
    ticking: Any, signed_in: Any, user: Any, server: Any
) -> None:
    # given an emulated meter, and the alerts page open with a 1 W power limit set in it
    home = _home(user)
    page: Page = signed_in(user)
    emulator = _emulate(server, user)
    try:
        wait_until(lambda: EnergyMeter.objects.filter(home=home).exists(), "the meter", 30)
        meter = EnergyMeter.objects.get(home=home)
        page.get_by_role("link", name="Alerts").click()
        expect(page.get_by_role("heading", name="Alerts", level=1)).to_be_visible()
        page.get_by_label("Device").select_option(label=meter.name)
        page.get_by_label("Power above (W)").fill("1")
        page.get_by_role("button", name="Save rule").click()
        expect(page.get_by_text("Saved.")).to_be_visible()

        # when the heartbeat check finds the meter above the limit
        alert_row = page.locator(f'li[data-device="{meter.pk}"]').first
        expect(alert_row).to_contain_text("power high", timeout=60_000)
        alert = Alert.objects.get(pk=alert_row.get_attribute("data-alert"))
        assert alert.device_id == meter.pk and alert.resolved_at is None
        screenshot(page, "alerts")

        # then resolving it in the page resolves it on the server and takes it off the list
        alert_row.get_by_role("button", name=re.compile("^Resolve")).click()
        expect(page.locator(f'li[data-alert="{alert.pk}"]')).to_have_count(0)
        wait_until(lambda: Alert.objects.get(pk=alert.pk).resolved_at is not None, "resolved", 10)
    finally:
        _stop(emulator)


def test_energy_history_shows_as_stacked_bars_by_hour_and_by_day(signed_in: Any, user: Any) -> None:
    # given a home with 36 hours of recorded energy, one row an hour, ending at today's 12:00
    home = _home(user)
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    HomeEnergyHistory.objects.bulk_create(
        HomeEnergyHistory(home=home, tick_at=noon - timedelta(hours=h), production_wh=800.0 + h,
                          consumption_wh=600.0, import_wh=100.0, export_wh=300.0 + h,
                          charge_wh=50.0, discharge_wh=50.0)
        for h in range(36)
    )  # fmt: skip
    page: Page = signed_in(user)
    _open_home(page, home)
    history = page.get_by_role("region", name="Energy history")
    chart = history.get_by_test_id("history-chart")

    # when the owner asks for the two days up to tomorrow by hour, then by day
    yesterday = (noon - timedelta(days=1)).date().isoformat()
    tomorrow = (noon + timedelta(days=1)).date().isoformat()
    history.get_by_label("From").fill(yesterday)
    history.get_by_label("To").fill(tomorrow)
    history.get_by_label("By").select_option("HOUR")
    history.get_by_role("button", name="Show").click()

    # then a bar chart has one bucket per hour with data in the range, then one per day
    start = datetime.fromisoformat(yesterday).replace(tzinfo=UTC)
    end = datetime.fromisoformat(tomorrow).replace(tzinfo=UTC)
    in_range = HomeEnergyHistory.objects.filter(home=home, tick_at__gte=start, tick_at__lt=end)
    assert in_range.count() == 36
    expect(chart).to_have_attribute("data-buckets", "36")
    expect(chart.locator("canvas")).to_be_visible()
    chart.scroll_into_view_if_needed()
    screenshot(page, "history-hourly")
    history.get_by_label("By").select_option("DAY")
    history.get_by_role("button", name="Show").click()
    expect(chart).to_have_attribute("data-buckets", "2")
    screenshot(page, "history-daily")
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    page.get_by_role("heading", name=home.name, level=1).scroll_into_view_if_needed()
    screenshot(page, "home-phone")


def test_register_then_sign_in_by_keyboard_alone(page: Page, server: Any) -> None:
    # given the sign-in page
    page.goto(f"http://127.0.0.1:{server.port}/")

    # when a newcomer creates an account and signs in, typing and pressing keys only
    page.get_by_role("button", name="Create an account").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.get_by_label("Username").focus()
    page.keyboard.type("newcomer")
    page.keyboard.press("Tab")
    page.keyboard.type("a long enough passphrase")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Account newcomer created")
    screenshot(page, "register")
    expect(page.get_by_label("Username")).to_have_value("newcomer")
    expect(page.get_by_label("Password")).to_be_focused()
    expect(page.get_by_label("Password")).to_have_value("")
    page.keyboard.type("a long enough passphrase")
    page.keyboard.press("Enter")

    # then the account exists and the homes overview greets them, its links reachable by Tab
    expect(page.get_by_test_id("user")).to_have_text("newcomer")
    assert User.objects.filter(username="newcomer").exists()
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert focused.strip() == "Skip to content"


def test_a_meter_added_in_the_page_gets_a_key_shown_once(
    signed_in: Any, user: Any, browser: Any
) -> None:
    # given a home's page
    home = _home(user)
    page: Page = signed_in(user)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.on("dialog", lambda dialog: dialog.accept())
    _open_home(page, home)

    # when the owner adds an energy meter, then asks for its API key
    page.get_by_role("button", name="Add device").click()
    form = page.get_by_role("form", name="Add a device")
    form.get_by_label("Kind").select_option("ENERGY_METER")
    form.get_by_label("Name").fill("Garage meter")
    form.get_by_role("button", name="Add device").click()
    meter = page.locator("article", has=page.get_by_role("heading", name="Garage meter"))
    meter.get_by_role("button", name="New API key").click()

    # then the key is shown once, copyable, and it is the key the server now accepts
    key = meter.get_by_test_id("api-key").inner_text()
    stored = EnergyMeter.objects.get(home=home, name="Garage meter")
    assert stored.source == "physical"
    assert stored.api_key_prefix and stored.api_key_prefix in key
    assert device_authenticate(key=key) is not None
    meter.get_by_role("button", name="Copy key").click()
    expect(meter.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    screenshot(page, "api-key")
    # a new page load: the session resumes from the refresh cookie, without the sign-in form
    page.goto(page.url.split("#")[0])
    page.get_by_test_id("user").wait_for()
    _open_home(page, home)
    expect(page.get_by_test_id("api-key")).to_have_count(0)
