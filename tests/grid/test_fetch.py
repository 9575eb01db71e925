"""The fetch service stores providers' points; the resolver's fallback order on real PostgreSQL:
fresh value, last good value flagged stale, synthetic value flagged stale."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from grid import resolver, services
from grid.models import SignalPoint, TariffKind
from grid.providers import synthetic
from grid.providers.base import Point, ProviderError, Reason, Signal
from grid.signals import signals_for_homes
from grid.tasks import retry_countdown
from tests.devices.factories import HomeFactory
from tests.grid.factories import TariffFactory
from tests.grid.providers import ScriptedProvider, configured, failing, points
from tests.monitoring.support import delta, rendered

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 10, 45, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def _at(hour: int, minute: int = 0) -> datetime:
    return NOW.replace(hour=hour, minute=minute)


def _region(home: object) -> str:
    return f"geo:{round(home.latitude)},{round(home.longitude)}"


def test_fetched_points_are_stored_and_answer_as_fresh_values() -> None:
    home = HomeFactory(latitude=51.5, longitude=-0.1)
    carbon = ScriptedProvider(
        Signal.CARBON_INTENSITY, "grid-operator", points((_at(10, 30), _at(11), 123.0))
    )
    clouds = ScriptedProvider(Signal.CLOUD_COVER, "forecast", points((_at(10), _at(11), 0.8)))
    with configured({Signal.CARBON_INTENSITY: [carbon], Signal.CLOUD_COVER: [clouds]}):
        report = services.signals_fetch(now=NOW)
        signals = signals_for_homes(np.array([home.id]), NOW)
        regional = resolver.regional_signals((_region(home),), NOW)

    assert report.failed == [] and report.stored == 2
    assert carbon.calls and carbon.calls[0][0] == _region(home)
    stored = SignalPoint.objects.get(source="grid-operator")
    assert (stored.signal, stored.region, stored.value) == ("carbon_intensity", "geo:52,0", 123.0)
    assert signals.carbon_intensity[0] == 123.0
    assert signals.cloud_cover[0] == 0.8
    assert np.isnan(signals.temperature_c[0])  # only the synthetic provider has it
    assert regional[Signal.CARBON_INTENSITY].source == ("grid-operator",)
    assert not regional[Signal.CARBON_INTENSITY].stale[0]


def test_a_failing_provider_is_counted_and_its_last_good_value_is_used_flagged_stale(
    caplog: pytest.LogCaptureFixture,
) -> None:
    home = HomeFactory()
    good = ScriptedProvider(Signal.CARBON_INTENSITY, "operator", points((_at(9), _at(10), 210.0)))
    with configured({Signal.CARBON_INTENSITY: [good]}):
        services.signals_fetch(now=_at(9, 15))
    down = ScriptedProvider(Signal.CARBON_INTENSITY, "operator", failing())
    before = rendered()
    with configured({Signal.CARBON_INTENSITY: [down]}), caplog.at_level(logging.WARNING):
        report = services.signals_fetch(now=NOW)
        regional = resolver.regional_signals((_region(home),), NOW)
        signals = signals_for_homes(np.array([home.id]), NOW)
    after = rendered()

    assert report.failed == ["carbon_intensity:operator"]
    assert "HTTP 500 from the provider" in caplog.text
    assert delta(before, after, "gridtwin_signal_fetches_total", provider="operator",
                 signal="carbon_intensity", outcome="error") == 1  # fmt: skip
    carbon = regional[Signal.CARBON_INTENSITY]
    assert carbon.value[0] == 210.0 and carbon.source == ("operator",) and carbon.stale[0]
    assert signals.carbon_intensity[0] == 210.0


def test_without_any_good_value_the_synthetic_one_stands_in_flagged_stale() -> None:
    home = HomeFactory()
    too_old = _at(10) - timedelta(hours=7)  # past GRID_SIGNAL_MAX_AGE_S (6 h)
    old = ScriptedProvider(
        Signal.CARBON_INTENSITY, "operator", points((too_old, too_old + HALF_HOUR, 300.0))
    )
    with configured({Signal.CARBON_INTENSITY: [old]}):
        services.signals_fetch(now=too_old)
        regional = resolver.regional_signals((_region(home),), NOW)
        signals = signals_for_homes(np.array([home.id]), NOW)

    carbon = regional[Signal.CARBON_INTENSITY]
    expected = synthetic.region_values(Signal.CARBON_INTENSITY, [_region(home)], NOW)[0]
    assert carbon.source == ("synthetic",) and carbon.stale[0]
    assert carbon.value[0] == expected != 300.0
    assert signals.carbon_intensity[0] == expected


def test_a_dynamic_tariff_with_a_missing_interval_uses_the_last_good_price_flagged() -> None:
    tariff = TariffFactory(kind=TariffKind.DYNAMIC, import_price_per_kwh=None, region="GB")
    prices = ScriptedProvider(
        Signal.IMPORT_PRICE,
        "day-ahead",
        points((_at(10), _at(10, 30), 0.21), (_at(11), _at(11, 30), 0.35)),  # 10:30 missing
    )
    with configured({Signal.IMPORT_PRICE: [prices]}):
        services.signals_fetch(now=_at(9))
        at_ten = signals_for_homes(np.array([tariff.home_id]), _at(10, 10))
        in_gap = signals_for_homes(np.array([tariff.home_id]), _at(10, 45))
        regional = resolver.regional_signals(("GB",), _at(10, 45))
        series = resolver.home_series(
            region="GB", spec=resolver.tariffs.DEFAULT, start=_at(10), end=_at(11, 30)
        )

    assert at_ten.import_price[0] == 0.21
    assert in_gap.import_price[0] == 0.21
    assert regional[Signal.IMPORT_PRICE].stale[0]
    flags = [
        (p.start.strftime("%H:%M"), p.value, p.source, p.stale) for p in series[Signal.IMPORT_PRICE]
    ]
    assert flags == [
        ("10:00", 0.21, "day-ahead", False),
        ("10:30", 0.21, "day-ahead", True),
        ("11:00", 0.35, "day-ahead", False),
    ]


def test_the_first_configured_provider_with_a_fresh_value_wins() -> None:
    home = HomeFactory()
    first = ScriptedProvider(Signal.TEMPERATURE, "station", points((_at(9), _at(10), 4.0)))
    second = ScriptedProvider(Signal.TEMPERATURE, "model", points((_at(10), _at(11), 6.5)))
    with configured({Signal.TEMPERATURE: [first, second]}):
        services.signals_fetch(now=NOW)
        fresh = resolver.regional_signals((_region(home),), NOW)[Signal.TEMPERATURE]
    # The station's value is older (stale): the model's fresh one is preferred.
    assert (fresh.value[0], fresh.source[0], bool(fresh.stale[0])) == (6.5, "model", False)


def test_garbage_points_are_refused_and_counted_while_good_ones_are_stored() -> None:
    HomeFactory()
    garbage = ScriptedProvider(
        Signal.CLOUD_COVER,
        "forecast",
        points(
            (_at(8), _at(9), float("nan")),
            (_at(9), _at(10), 1.7),
            (_at(11), _at(10), 0.4),
            (_at(10), _at(11), 0.3),
        ),
    )
    before = rendered()
    with configured({Signal.CLOUD_COVER: [garbage]}):
        report = services.signals_fetch(now=NOW)
    after = rendered()
    assert report.stored == 1 and report.refused == 3 and report.failed == []
    assert list(SignalPoint.objects.values_list("value", flat=True)) == [0.3]
    for reason in ("not_finite", "out_of_range", "bad_span"):
        assert delta(before, after, "gridtwin_signal_points_refused_total",
                     provider="forecast", reason=reason) == 1  # fmt: skip


def test_a_provider_answering_only_garbage_fails_as_invalid() -> None:
    HomeFactory()
    garbage = ScriptedProvider(
        Signal.CARBON_INTENSITY, "operator", points((_at(10), _at(11), -5.0))
    )
    with configured({Signal.CARBON_INTENSITY: [garbage]}):
        report = services.signals_fetch(now=NOW)
    assert report.failed == ["carbon_intensity:operator"]
    assert not SignalPoint.objects.exists()


def test_a_crashing_provider_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    HomeFactory()

    def crash(region: str, start: datetime, end: datetime) -> list[Point]:
        raise RuntimeError("provider bug")

    broken = ScriptedProvider(Signal.TEMPERATURE, "broken", crash)
    timeout = ScriptedProvider(Signal.TEMPERATURE, "slow", _raises(TimeoutError("read timed out")))
    working = ScriptedProvider(Signal.CLOUD_COVER, "forecast", points((_at(10), _at(11), 0.5)))
    with (
        configured({Signal.TEMPERATURE: [broken, timeout], Signal.CLOUD_COVER: [working]}),
        caplog.at_level(logging.WARNING),
    ):
        report = services.signals_fetch(now=NOW)
    assert report.failed == ["temperature:broken", "temperature:slow"]
    assert report.stored == 1
    assert "provider bug" in caplog.text and "timed out" in caplog.text


def test_only_retries_the_named_providers() -> None:
    HomeFactory()
    a = ScriptedProvider(Signal.CARBON_INTENSITY, "a", points())
    b = ScriptedProvider(Signal.CLOUD_COVER, "b", points())
    with configured({Signal.CARBON_INTENSITY: [a], Signal.CLOUD_COVER: [b]}):
        services.signals_fetch(now=NOW, only=["cloud_cover:b"])
    assert a.calls == [] and len(b.calls) == 1


def test_a_tariffs_named_region_is_fetched_too() -> None:
    TariffFactory(region="DE", home__latitude=40.0, home__longitude=-3.0)
    carbon = ScriptedProvider(Signal.CARBON_INTENSITY, "operator", points())
    with configured({Signal.CARBON_INTENSITY: [carbon]}):
        services.signals_fetch(now=NOW)
    assert sorted(region for region, _, _ in carbon.calls) == ["DE", "geo:40,-3"]


def test_retries_back_off_and_the_schedule_installs_the_fetch_once() -> None:
    assert [retry_countdown(n, base_s=30) for n in range(6)] == [30, 60, 120, 240, 480, 600]
    call_command("setup_schedule")
    call_command("setup_schedule")
    task = PeriodicTask.objects.get(task="grid.fetch_signals")
    assert task.interval is not None and task.interval.every == 900
    assert 0 < task.expire_seconds <= 450


def _raises(exc: Exception):  # type: ignore[no-untyped-def]
    def answer(region: str, start: datetime, end: datetime) -> list[Point]:
        raise exc

    return answer


def test_a_new_fetch_shows_within_the_same_tick() -> None:
    home = HomeFactory()
    first = ScriptedProvider(Signal.CARBON_INTENSITY, "operator", points((_at(10), _at(11), 100.0)))
    with configured({Signal.CARBON_INTENSITY: [first]}):
        services.signals_fetch(now=_at(10))
        before = signals_for_homes(np.array([home.id]), NOW).carbon_intensity[0]
    again = ScriptedProvider(Signal.CARBON_INTENSITY, "operator", points((_at(10), _at(11), 150.0)))
    with configured({Signal.CARBON_INTENSITY: [again]}):
        services.signals_fetch(now=_at(10, 20))
        after = signals_for_homes(np.array([home.id]), NOW).carbon_intensity[0]
    assert (before, after) == (100.0, 150.0)
    assert SignalPoint.objects.get().value == 150.0


def test_a_region_the_provider_does_not_serve_is_skipped_not_failed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    HomeFactory(latitude=10.0, longitude=10.0)
    TariffFactory(region="GB")

    def national(region: str, start: datetime, end: datetime) -> list[Point]:
        if region != "GB":
            raise ProviderError(f"no mapping for {region}", reason=Reason.UNKNOWN_REGION)
        return [Point(start=_at(10), end=_at(11), value=99.0)]

    feed = ScriptedProvider(Signal.CARBON_INTENSITY, "national-feed", national)
    before = rendered()
    with configured({Signal.CARBON_INTENSITY: [feed]}), caplog.at_level(logging.WARNING):
        report = services.signals_fetch(now=NOW)
    after = rendered()
    assert report.failed == [] and report.stored == 1
    assert len(feed.calls) == 3  # GB, the tariff's home's cell, the other home's cell
    assert "no mapping" not in caplog.text
    assert delta(before, after, "gridtwin_signal_fetches_total", provider="national-feed",
                 signal="carbon_intensity", outcome="ok") == 1  # fmt: skip
    assert delta(before, after, "gridtwin_signal_fetches_total", provider="national-feed",
                 signal="carbon_intensity", outcome="unknown_region") == 0  # fmt: skip


def test_a_forecast_becomes_an_observation_when_the_provider_reports_the_past_interval() -> None:
    home = HomeFactory()
    region = _region(home)
    # at 09:00 the provider forecasts 10:00-11:00; at 11:05 it reports what was measured
    forecast = ScriptedProvider(Signal.TEMPERATURE, "station", points((_at(10), _at(11), 4.0)))
    measured = ScriptedProvider(Signal.TEMPERATURE, "station", points((_at(10), _at(11), 5.5)))

    with configured({Signal.TEMPERATURE: [forecast]}):
        services.signals_fetch(now=_at(9))
        ahead = resolver.home_series(
            region=region, spec=resolver.tariffs.DEFAULT, start=_at(10), end=_at(10, 30)
        )[Signal.TEMPERATURE]
    with configured({Signal.TEMPERATURE: [measured]}):
        services.signals_fetch(now=_at(11, 5))
        after = resolver.home_series(
            region=region, spec=resolver.tariffs.DEFAULT, start=_at(10), end=_at(10, 30)
        )[Signal.TEMPERATURE]

    assert [(p.value, p.source, p.observed) for p in ahead] == [(4.0, "station", False)]
    assert [(p.value, p.source, p.observed) for p in after] == [(5.5, "station", True)]
    assert SignalPoint.objects.filter(signal="temperature").count() == 1  # replaced, not added
