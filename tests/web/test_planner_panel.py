"""The planner panel in a real browser against a real server: a home with a goal shows its plan,
its latest decisions and its savings against the greedy twin, and its objective can be changed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from devices.models import HomeEnergyHistory
from planner.models import OptimizationGoal
from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory
from tests.grid.factories import TariffFactory
from tests.planner.factories import DecisionFactory
from tests.web.browser import screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NUMBER = re.compile(r"(-?\d+(?:[.,]\d+)?)")
HOURS = 3
SAVED_PER_TICK = 0.01  # the twin pays a cent more each minute
CARBON_SAVED_PER_TICK_G = 10.0


def _number(text: str) -> float:
    match = NUMBER.search(text)
    assert match, f"not a number: {text!r}"
    return float(match.group(1).replace(",", "."))


def _home_with_a_goal(owner: Any) -> Any:
    """A home whose carbon goal was set four hours ago and followed since three: a row a
    minute with the twin's figures, and a battery decision every quarter hour."""
    home = HomeFactory(owner=owner, name="Willow Barn", latitude=51.5, longitude=-0.1,
                       timezone="Europe/London")  # fmt: skip
    TariffFactory(home=home, currency="EUR")
    SolarPanelFactory(home=home, name="Roof panels")
    battery = BatteryFactory(home=home, name="Barn battery", level_wh=5000.0)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    goal = OptimizationGoal.objects.create(home=home, objective="carbon")
    OptimizationGoal.objects.filter(pk=goal.pk).update(updated_at=now - timedelta(hours=4))
    HomeEnergyHistory.objects.bulk_create(
        HomeEnergyHistory(home=home, tick_at=now - timedelta(minutes=m), production_wh=0.0,
                          consumption_wh=10.0, import_wh=10.0, export_wh=0.0, charge_wh=0.0,
                          discharge_wh=0.0, cost=0.03, revenue=0.0, carbon_g=20.0,
                          baseline_cost=0.03 + SAVED_PER_TICK, baseline_revenue=0.0,
                          baseline_carbon_g=20.0 + CARBON_SAVED_PER_TICK_G,
                          solar_forecast_w=300.0, solar_w=250.0,
                          base_load_forecast_w=400.0, base_load_w=420.0)
        for m in range(HOURS * 60)
    )  # fmt: skip
    quarter = now.replace(minute=now.minute - now.minute % 15)
    for q in range(1, 9):
        DecisionFactory(device=battery, interval_start=quarter - q * timedelta(minutes=15),
                        action="charge" if q % 2 else "discharge",
                        power_w=2500.0 if q % 2 else -2000.0, objective="carbon")  # fmt: skip
    return home


def test_the_planner_panel_shows_the_plan_decisions_and_savings_and_changes_the_goal(
    signed_in: Any, user: Any
) -> None:
    # given a home followed under a carbon goal for three hours
    home = _home_with_a_goal(user)
    page: Page = signed_in(user)

    # when its owner opens its page
    page.get_by_role("link", name=home.name).click()
    panel = page.get_by_role("region", name="Planner")
    panel.scroll_into_view_if_needed()

    # then the objective picker shows the goal
    picker = panel.get_by_label("Objective")
    expect(picker).to_have_value("CARBON")
    # and the plan is drawn over its 96 quarter hours
    plan = panel.get_by_test_id("plan-chart")
    expect(plan).to_have_attribute("data-intervals", "96", timeout=30_000)
    expect(plan.locator("canvas")).to_be_visible()
    expect(plan).to_contain_text("Battery")  # the legend of the battery's line
    expect(panel.get_by_test_id("plan-summary")).to_have_attribute("data-objective", "CARBON")

    # and the savings are the stored rows' against the twin, with the hours they cover
    figures = panel.get_by_label("Savings since the goal was set")
    expect(figures).to_have_attribute("data-ticks", str(HOURS * 60))
    cost = figures.locator("[data-saving=cost]").inner_text()
    assert "€" in cost or "EUR" in cost
    assert _number(cost) == pytest.approx(HOURS * 60 * SAVED_PER_TICK, abs=0.006)
    carbon = figures.locator("[data-saving=carbon]").inner_text()
    assert "kg" in carbon
    assert _number(carbon) == pytest.approx(HOURS * 60 * CARBON_SAVED_PER_TICK_G / 1000, abs=0.006)
    assert _number(figures.locator("[data-saving=hours]").inner_text()) == pytest.approx(HOURS)
    assert _number(figures.locator("[data-saving=solar-mae]").inner_text()) == pytest.approx(50)
    assert _number(figures.locator("[data-saving=base-load-mae]").inner_text()) == pytest.approx(20)
    # and the running savings are drawn hour by hour
    chart = panel.get_by_test_id("savings-chart")
    assert int(chart.get_attribute("data-hours") or 0) in (HOURS, HOURS + 1)
    expect(chart.locator("canvas")).to_be_visible()
    expect(chart).to_contain_text("Cost saved (EUR)")

    # and the latest decisions are listed newest first with their device, action and power
    table = panel.get_by_test_id("decisions")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(8)
    first = rows.nth(0).locator("td")
    expect(first.nth(1)).to_have_text("Barn battery")
    expect(first.nth(2)).to_have_text("charge")
    expect(first.nth(3)).to_contain_text("2.50 kW")
    expect(rows.nth(1).locator("td").nth(2)).to_have_text("discharge")
    screenshot(page, "planner-panel")

    # when the owner chooses the lowest cost instead
    picker.select_option("COST")

    # then the plan is made again for it, and the goal is stored
    summary = panel.get_by_test_id("plan-summary")
    expect(summary).to_have_attribute("data-objective", "COST", timeout=30_000)
    expect(picker).to_have_value("COST")
    expect(plan).to_have_attribute("data-intervals", "96")
    assert OptimizationGoal.objects.get(home=home).objective == "cost"
