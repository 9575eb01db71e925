"""Tariffs: setting them (every mistake a field error, nothing stored) and time-of-use prices
at period edges and across DST changes, in the home's local time."""

from __future__ import annotations

from datetime import UTC, datetime, time

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from grid import services
from grid.models import Tariff, TariffPeriod
from grid.services import PeriodInput
from grid.signals import signals_for_homes
from simulators.physics.constants import ALL_DAYS_MASK, WEEKDAYS_MASK
from tests.devices.factories import HomeFactory

pytestmark = pytest.mark.django_db

WEEKEND = ALL_DAYS_MASK & ~WEEKDAYS_MASK
OFF_PEAK, DAY, PEAK, WEEKEND_PRICE = 0.10, 0.25, 0.40, 0.18
LONDON_TOU = [
    PeriodInput(
        days=WEEKDAYS_MASK, start=time(0, 0), end=time(7, 0), import_price_per_kwh=OFF_PEAK
    ),
    PeriodInput(days=WEEKDAYS_MASK, start=time(7, 0), end=time(16, 0), import_price_per_kwh=DAY),
    PeriodInput(days=WEEKDAYS_MASK, start=time(16, 0), end=time(19, 0), import_price_per_kwh=PEAK),
    PeriodInput(days=WEEKDAYS_MASK, start=time(19, 0), end=time(0, 0), import_price_per_kwh=DAY),
    PeriodInput(days=WEEKEND, start=time(0, 0), end=time(0, 0), import_price_per_kwh=WEEKEND_PRICE),
]


def _london_tou(user_id: int | None = None):  # type: ignore[no-untyped-def]
    home = HomeFactory(timezone="Europe/London", latitude=51.5, longitude=-0.1)
    services.tariff_set(
        user_id=home.owner_id, home_id=home.id, kind="time_of_use", currency="GBP",
        standing_charge_per_day=0.6, export_price_per_kwh=0.15, periods=LONDON_TOU,
    )  # fmt: skip
    return home


def _price_now(home_id: int) -> float:
    return float(signals_for_homes(np.array([home_id]), datetime.now(UTC)).import_price[0])


@pytest.mark.parametrize(
    ("instant", "price"),
    [
        # Winter (GMT = UTC), a Tuesday: edges at 07:00, 16:00 and 19:00 UTC.
        ("2026-01-13T06:59:59Z", OFF_PEAK),
        ("2026-01-13T07:00:00Z", DAY),
        ("2026-01-13T15:59:59Z", DAY),
        ("2026-01-13T16:00:00Z", PEAK),
        ("2026-01-13T18:59:59Z", PEAK),
        ("2026-01-13T19:00:00Z", DAY),
        ("2026-01-13T23:59:59Z", DAY),
        ("2026-01-14T00:00:00Z", OFF_PEAK),
        # Summer (BST = UTC+1), a Tuesday: the same local edges, an hour earlier in UTC.
        ("2026-07-14T05:59:59Z", OFF_PEAK),
        ("2026-07-14T06:00:00Z", DAY),
        ("2026-07-14T15:00:00Z", PEAK),
        ("2026-07-14T17:59:59Z", PEAK),
        ("2026-07-14T18:00:00Z", DAY),
        ("2026-07-14T23:00:00Z", OFF_PEAK),
        # Friday 23:30 BST is a weekday; Saturday 00:00 BST (Friday 23:00 UTC) is the weekend.
        ("2026-07-17T22:59:59Z", DAY),
        ("2026-07-17T23:00:00Z", WEEKEND_PRICE),
    ],
)
def test_time_of_use_prices_follow_local_time_at_every_edge(instant: str, price: float) -> None:
    home = _london_tou()
    with freeze_time(instant):
        assert _price_now(home.id) == price


def test_time_of_use_across_the_spring_dst_change() -> None:
    # Clocks go forward on Sunday 29 March 2026 at 01:00 UTC; Monday 30 March is in BST.
    home = _london_tou()
    with freeze_time("2026-03-27T16:30:00Z"):  # Friday 16:30 GMT: peak
        assert _price_now(home.id) == PEAK
    with freeze_time("2026-03-30T15:30:00Z"):  # Monday 16:30 BST: peak, at 15:30 UTC
        assert _price_now(home.id) == PEAK
    with freeze_time("2026-03-30T18:30:00Z"):  # Monday 19:30 BST: day, though 18:30 UTC
        assert _price_now(home.id) == DAY
    with freeze_time("2026-03-29T00:59:59Z"):  # Sunday 00:59 GMT, just before the change
        assert _price_now(home.id) == WEEKEND_PRICE


def test_time_of_use_across_the_autumn_dst_change() -> None:
    # Clocks go back on Sunday 25 October 2026 at 01:00 UTC; Monday 26 October is in GMT.
    home = _london_tou()
    with freeze_time("2026-10-23T06:30:00Z"):  # Friday 07:30 BST: day
        assert _price_now(home.id) == DAY
    with freeze_time("2026-10-26T06:30:00Z"):  # Monday 06:30 GMT: still off-peak
        assert _price_now(home.id) == OFF_PEAK
    with freeze_time("2026-10-26T07:00:00Z"):  # Monday 07:00 GMT: day
        assert _price_now(home.id) == DAY


def test_a_tariff_is_stored_with_its_periods_and_replaced_whole() -> None:
    home = _london_tou()
    tariff = Tariff.objects.get(home=home)
    assert (tariff.kind, tariff.currency, tariff.export_price_per_kwh) == (
        "time_of_use", "GBP", 0.15,
    )  # fmt: skip
    assert tariff.periods.count() == len(LONDON_TOU)
    services.tariff_set(
        user_id=home.owner_id, home_id=home.id, kind="fixed", import_price_per_kwh=0.3
    )
    tariff.refresh_from_db()
    assert tariff.kind == "fixed" and tariff.periods.count() == 0


def _refused(field: str, **fields: object) -> str:
    home = _london_tou()
    before = list(TariffPeriod.objects.values_list("days", "start", "end", "import_price_per_kwh"))
    with pytest.raises(ValidationError) as caught:
        services.tariff_set(user_id=home.owner_id, home_id=home.id, **fields)  # type: ignore[arg-type]
    assert field in caught.value.message_dict, caught.value.message_dict
    after = list(TariffPeriod.objects.values_list("days", "start", "end", "import_price_per_kwh"))
    assert after == before and Tariff.objects.get(home=home).kind == "time_of_use"
    return " ".join(caught.value.message_dict[field])


def test_overlapping_periods_are_a_field_error_and_nothing_changes() -> None:
    message = _refused(
        "periods",
        kind="time_of_use",
        periods=[
            PeriodInput(days=ALL_DAYS_MASK, start=time(0), end=time(12), import_price_per_kwh=0.1),
            PeriodInput(days=ALL_DAYS_MASK, start=time(11), end=time(0), import_price_per_kwh=0.2),
        ],
    )
    assert "overlap" in message and "11:00" in message


def test_missing_periods_are_a_field_error_and_nothing_changes() -> None:
    message = _refused(
        "periods",
        kind="time_of_use",
        periods=[
            PeriodInput(days=WEEKDAYS_MASK, start=time(0), end=time(0), import_price_per_kwh=0.1),
        ],
    )
    assert "Saturday" in message and "No period covers" in message


def test_a_gap_inside_a_day_is_named() -> None:
    message = _refused(
        "periods",
        kind="time_of_use",
        periods=[
            PeriodInput(days=ALL_DAYS_MASK, start=time(0), end=time(7), import_price_per_kwh=0.1),
            PeriodInput(days=ALL_DAYS_MASK, start=time(8), end=time(0), import_price_per_kwh=0.2),
        ],
    )
    assert "07:00 to 08:00" in message


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("import_price_per_kwh", {"kind": "fixed"}),
        ("import_price_per_kwh", {"kind": "dynamic", "import_price_per_kwh": 0.2}),
        ("periods", {"kind": "time_of_use"}),
        ("kind", {"kind": "cheap"}),
        ("currency", {"kind": "fixed", "import_price_per_kwh": 0.2, "currency": "euro"}),
        ("import_price_per_kwh", {"kind": "fixed", "import_price_per_kwh": float("nan")}),
        ("standing_charge_per_day", {"kind": "dynamic", "standing_charge_per_day": -1.0}),
        ("region", {"kind": "dynamic", "region": "no spaces here"}),
        (
            "periods",
            {
                "kind": "time_of_use",
                "periods": [
                    PeriodInput(days=0, start=time(0), end=time(0), import_price_per_kwh=1)
                ],
            },
        ),
        (
            "periods",
            {
                "kind": "time_of_use",
                "periods": [
                    PeriodInput(
                        days=ALL_DAYS_MASK, start=time(0), end=time(0), import_price_per_kwh=1e9
                    )
                ],
            },
        ),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_changes(field: str, fields: dict) -> None:  # type: ignore[type-arg]
    _refused(field, **fields)


def test_someone_elses_home_is_not_found_and_untouched() -> None:
    home = _london_tou()
    stranger = HomeFactory()
    with pytest.raises(ValidationError) as caught:
        services.tariff_set(
            user_id=stranger.owner_id, home_id=home.id, kind="fixed", import_price_per_kwh=9.0
        )
    assert "home_id" in caught.value.message_dict
    assert Tariff.objects.get(home=home).kind == "time_of_use"
    with pytest.raises(ValidationError):
        services.tariff_clear(user_id=stranger.owner_id, home_id=home.id)
    assert Tariff.objects.filter(home=home).exists()
