"""The dashboard in a real browser against a real server, worker and beat (2 s tick)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.models import RefreshToken
from tests.devices.factories import (
    BatteryFactory,
    ElectricVehicleFactory,
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
