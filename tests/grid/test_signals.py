"""signals_for_homes: the farm's arrays, aligned with the homes asked for, by region and tariff."""

from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest

from grid.models import TariffKind
from grid.providers import synthetic
from grid.providers.base import Signal
from grid.signals import signals_for_homes
from tests.devices.factories import HomeFactory
from tests.grid.factories import TariffFactory, TariffPeriodFactory

pytestmark = pytest.mark.django_db

AT = datetime(2026, 6, 21, 18, 40, tzinfo=UTC)


def test_a_home_without_a_tariff_pays_its_regions_price_signals() -> None:
    berlin = HomeFactory(latitude=52.5, longitude=13.4, timezone="Europe/Berlin")
    sydney = HomeFactory(latitude=-33.9, longitude=151.2, timezone="Australia/Sydney")

    signals = signals_for_homes(np.array([sydney.id, berlin.id, sydney.id]), AT)

    regions = ["geo:-34,151", "geo:52,13", "geo:-34,151"]
    for got, signal in (
        (signals.import_price, Signal.IMPORT_PRICE),
        (signals.export_price, Signal.EXPORT_PRICE),
        (signals.carbon_intensity, Signal.CARBON_INTENSITY),
    ):
        expected = synthetic.region_values(signal, regions, AT)
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == np.float64 and got.shape == (3,)
    assert signals.import_price[0] != signals.import_price[1]


def test_weather_is_nan_where_only_the_synthetic_provider_has_it() -> None:
    home = HomeFactory()
    signals = signals_for_homes(np.array([home.id]), AT)
    assert np.isnan(signals.cloud_cover).all()
    assert np.isnan(signals.temperature_c).all()


def test_fixed_and_time_of_use_tariffs_set_their_own_prices() -> None:
    fixed = TariffFactory(
        kind=TariffKind.FIXED, import_price_per_kwh=0.31, export_price_per_kwh=0.07
    )
    tou = TariffPeriodFactory(
        tariff__home__timezone="Europe/London",
        tariff__export_price_per_kwh=None,
        start=time(0, 0),
        end=time(0, 0),
        import_price_per_kwh=0.22,
    ).tariff
    plain = HomeFactory()

    signals = signals_for_homes(np.array([fixed.home_id, tou.home_id, plain.id]), AT)

    assert signals.import_price[0] == 0.31 and signals.export_price[0] == 0.07
    assert signals.import_price[1] == 0.22
    tou_region = f"geo:{round(tou.home.latitude)},{round(tou.home.longitude)}"
    expected_export = synthetic.region_values(Signal.EXPORT_PRICE, [tou_region], AT)[0]
    assert signals.export_price[1] == expected_export
    assert (
        signals.import_price[2] == synthetic.region_values(Signal.IMPORT_PRICE, [tou_region], AT)[0]
    )


def test_a_tariffs_region_overrides_the_homes_cell() -> None:
    tariff = TariffFactory(kind=TariffKind.DYNAMIC, import_price_per_kwh=None, region="GB")
    signals = signals_for_homes(np.array([tariff.home_id]), AT)
    assert (
        signals.carbon_intensity[0]
        == synthetic.region_values(Signal.CARBON_INTENSITY, ["GB"], AT)[0]
    )


def test_a_changed_tariff_shows_at_the_next_tick() -> None:
    tariff = TariffFactory(kind=TariffKind.FIXED, import_price_per_kwh=0.30)
    assert signals_for_homes(np.array([tariff.home_id]), AT).import_price[0] == 0.30
    tariff.import_price_per_kwh = 0.40
    tariff.save()
    next_tick = AT + timedelta(minutes=1)
    assert signals_for_homes(np.array([tariff.home_id]), next_tick).import_price[0] == 0.40
    tariff.delete()
    after = signals_for_homes(np.array([tariff.home_id]), next_tick + timedelta(minutes=1))
    assert after.import_price[0] != 0.40  # the region's price signal again


def test_a_home_added_after_its_block_was_loaded_gets_its_own_region() -> None:
    first = HomeFactory(latitude=10.0, longitude=10.0)
    signals_for_homes(np.array([first.id]), AT)
    added = HomeFactory(latitude=-33.9, longitude=151.2)
    signals = signals_for_homes(np.array([first.id, added.id]), AT)
    expected = synthetic.region_values(Signal.CARBON_INTENSITY, ["geo:10,10", "geo:-34,151"], AT)
    np.testing.assert_array_equal(signals.carbon_intensity, expected)


def test_ids_of_no_home_still_get_finite_values() -> None:
    home = HomeFactory()
    signals = signals_for_homes(np.array([home.id, home.id + 10_000]), AT)
    for values in (signals.import_price, signals.export_price, signals.carbon_intensity):
        assert np.isfinite(values).all()


def test_no_homes_asked_gives_empty_arrays() -> None:
    signals = signals_for_homes(np.array([], dtype=np.int64), AT)
    assert signals.import_price.shape == (0,) and signals.cloud_cover.shape == (0,)
