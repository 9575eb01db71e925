"""Prices, carbon and cost in the dashboard, in a real browser against a real server, worker and
beat (2 s tick), for a home on a time-of-use tariff."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from devices.models import HomeEnergyHistory
from grid import services as grid_services
from grid.services import PeriodInput
from simulators.physics.constants import ALL_DAYS_MASK
from tests.devices.factories import (
    BatteryFactory,
    ElectricVehicleFactory,
    GeneratorFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.web.browser import screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LONDON = ZoneInfo("Europe/London")
MORNING_PRICE = 0.21  # local 00:00-12:00
AFTERNOON_PRICE = 0.37  # local 12:00-24:00
EXPORT_PRICE = 0.08
# A figure as the page shows it: a number, whatever the locale's currency sign and separators.
NUMBER = re.compile(r"(\d+(?:[.,]\d+)?)")


def _home(owner: Any) -> Any:
    home = HomeFactory(owner=owner, name="Maple Cottage", latitude=51.5, longitude=-0.1,
                       timezone="Europe/London")  # fmt: skip
    SolarPanelFactory(home=home, name="Roof panels")
    BatteryFactory(home=home, name="Home battery", level_wh=5000.0)
    ElectricVehicleFactory(home=home, name="Family car", away_days=0, level_wh=30_000.0)
    # a running generator keeps the battery charging, day or night: its store moves every tick
    GeneratorFactory(home=home, name="Backup generator", running=True)
    # a time-of-use tariff in the home's local time, as the demo's homes have
    grid_services.tariff_set(
        user_id=owner.pk,
        home_id=home.pk,
        kind="time_of_use",
        currency="EUR",
        export_price_per_kwh=EXPORT_PRICE,
        periods=[
            PeriodInput(days=ALL_DAYS_MASK, start=time(0), end=time(12),
                        import_price_per_kwh=MORNING_PRICE),
            PeriodInput(days=ALL_DAYS_MASK, start=time(12), end=time(0),
                        import_price_per_kwh=AFTERNOON_PRICE),
        ],
    )  # fmt: skip
    return home


def _open_home(page: Page, home: Any) -> None:
    page.get_by_role("link", name=home.name).click()
    expect(page.get_by_role("heading", name=home.name, level=1)).to_be_visible()


def _number(text: str) -> float:
    match = NUMBER.search(text)
    assert match, f"not a number: {text!r}"
    return float(match.group(1).replace(",", "."))


def test_the_home_page_shows_prices_carbon_and_cost_now_and_they_move_with_each_tick(
    ticking: Any, signed_in: Any, user: Any
) -> None:
    # given a home on a time-of-use tariff, simulated every 2 s by a real worker
    home = _home(user)
    page: Page = signed_in(user)

    # when its owner opens its page
    _open_home(page, home)
    now = page.get_by_label("Prices and carbon now")
    expect(now).to_have_attribute("data-stale", "false", timeout=30_000)

    # then the import price is the tariff's at the instant shown, in euros per kWh
    instant = datetime.fromisoformat(now.get_attribute("data-timestamp") or "")
    expected = MORNING_PRICE if instant.astimezone(LONDON).hour < 12 else AFTERNOON_PRICE
    import_price = now.locator("[data-now=import-price]")
    expect(import_price).to_contain_text("/kWh")
    assert "€" in import_price.inner_text() or "EUR" in import_price.inner_text()
    assert _number(import_price.inner_text()) == pytest.approx(expected)
    # and the export price is the tariff's fixed one
    assert _number(now.locator("[data-now=export-price]").inner_text()) == pytest.approx(
        EXPORT_PRICE
    )
    # and carbon intensity, cost and carbon per hour are numbers with their units, not blanks
    for key, unit in (("carbon-intensity", "/kWh"), ("cost-rate", "/h"), ("carbon-rate", "/h")):
        text = now.locator(f"[data-now={key}]").inner_text()
        assert unit in text and "—" not in text, (key, text)
        assert _number(text) >= 0, (key, text)
    assert _number(now.locator("[data-now=carbon-intensity]").inner_text()) > 0

    # and the figures follow the ticks: the instant they describe moves on
    first = now.get_attribute("data-timestamp")
    expect(now).not_to_have_attribute("data-timestamp", first or "", timeout=15_000)
    expect(now).to_have_attribute("data-stale", "false")

    # and the battery's card shows its stored energy's average cost and carbon per kWh
    battery = page.locator("article[data-kind=BATTERY]")
    cost = battery.locator("[data-stored=cost]")
    expect(cost).to_contain_text(NUMBER, timeout=30_000)
    expect(cost).to_contain_text("/kWh")
    expect(battery.locator("[data-stored=carbon]")).to_contain_text("/kWh")
    screenshot(page, "home-prices")


def test_the_history_shows_cost_against_revenue_and_carbon_against_carbon_avoided(
    signed_in: Any, user: Any
) -> None:
    # given a home with 6 hours of recorded energy, cost and carbon, one row an hour
    home = _home(user)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    HomeEnergyHistory.objects.bulk_create(
        HomeEnergyHistory(home=home, tick_at=hour - timedelta(hours=h), production_wh=800.0,
                          consumption_wh=600.0, import_wh=100.0 * h, export_wh=300.0,
                          charge_wh=50.0, discharge_wh=50.0, cost=0.03 * h, revenue=0.024,
                          carbon_g=20.0 * h, carbon_avoided_g=120.0)
        for h in range(6)
    )  # fmt: skip
    page: Page = signed_in(user)

    # when the owner opens the home and asks for the history by hour around today
    _open_home(page, home)
    history = page.get_by_role("region", name="Energy history")
    history.get_by_label("From").fill((hour - timedelta(days=1)).date().isoformat())
    history.get_by_label("To").fill((hour + timedelta(days=2)).date().isoformat())
    history.get_by_label("By").select_option("HOUR")
    history.get_by_role("button", name="Show").click()

    # then a cost chart and a carbon chart each have one bucket per recorded hour, drawn, with
    # their two series named in the legend
    cost = history.get_by_test_id("cost-chart")
    carbon = history.get_by_test_id("carbon-chart")
    expect(cost).to_have_attribute("data-buckets", "6")
    expect(carbon).to_have_attribute("data-buckets", "6")
    expect(cost.locator("canvas")).to_be_visible()
    expect(carbon.locator("canvas")).to_be_visible()
    expect(cost).to_contain_text("Import cost")
    expect(cost).to_contain_text("Export revenue")
    expect(cost).to_contain_text("EUR")
    expect(carbon).to_contain_text("Avoided by own generation")
    cost.scroll_into_view_if_needed()
    screenshot(page, "history-cost")
