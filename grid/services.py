"""
Writes of the grid app: a home's tariff, and the signals fetched from providers.

``signals_fetch`` asks every configured provider (all but the synthetic one, which is computed
when asked) for the regions in use; one provider's failure or garbage never stops another's,
and is logged and counted (``gridtwin_signal_fetches``, ``gridtwin_signal_points_refused``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from devices import selectors as device_selectors
from devices.errors import ErrorCode, field_error, not_found
from devices.models import Home
from grid import selectors, tariffs
from grid.models import SignalPoint, Tariff, TariffKind, TariffPeriod
from grid.providers import registry, synthetic
from grid.providers.base import Point, Provider, ProviderError, Signal
from monitoring import metrics

logger = logging.getLogger(__name__)

SIGNAL_RANGES: Mapping[Signal, tuple[float, float]] = {
    Signal.IMPORT_PRICE: (-10.0, 100.0),
    Signal.EXPORT_PRICE: (-10.0, 100.0),
    Signal.CARBON_INTENSITY: (0.0, 3000.0),
    Signal.CLOUD_COVER: (0.0, 1.0),
    Signal.TEMPERATURE: (-90.0, 60.0),
}
"""Physical ranges of each signal: a provider's value outside them is refused, not stored."""


# --- Tariffs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeriodInput:
    """One time-of-use period as a client sets it: local times, days as a weekday mask."""

    days: int
    start: time
    end: time
    import_price_per_kwh: float


@transaction.atomic
def tariff_set(
    *,
    user_id: int,
    home_id: int | str,
    kind: str,
    currency: str = "EUR",
    standing_charge_per_day: float = 0.0,
    import_price_per_kwh: float | None = None,
    export_price_per_kwh: float | None = None,
    region: str = "",
    periods: Iterable[PeriodInput] = (),
) -> Tariff:
    """Replace the tariff of one of the user's homes; every mistake is a field error and
    nothing is stored."""
    try:
        home = device_selectors.home_list(user_id=user_id).select_for_update().get(pk=int(home_id))
    except (Home.DoesNotExist, ValueError, TypeError):
        raise not_found("home_id", "Home") from None
    periods = list(periods)
    if kind not in TariffKind.values:
        choices = ", ".join(TariffKind.values)
        raise field_error("kind", f"Choose one of {choices}.", code=ErrorCode.UNKNOWN)
    _check_prices_fit_kind(kind, import_price_per_kwh, periods)
    tariff = Tariff.objects.filter(home=home).first() or Tariff(home=home)
    tariff.kind = kind
    tariff.currency = currency
    tariff.standing_charge_per_day = standing_charge_per_day
    tariff.import_price_per_kwh = import_price_per_kwh
    tariff.export_price_per_kwh = export_price_per_kwh
    tariff.region = region
    tariff.full_clean(exclude=["home"])
    rows = [
        TariffPeriod(
            tariff=tariff,
            days=p.days,
            start=p.start,
            end=p.end,
            import_price_per_kwh=p.import_price_per_kwh,
        )
        for p in periods
    ]
    for index, row in enumerate(rows):
        try:
            row.full_clean(exclude=["tariff"])
        except ValidationError as exc:
            field_name, message = _first(exc)
            raise field_error(
                "periods", f"Period {index + 1}: {field_name}: {message}", code=ErrorCode.INVALID
            ) from None
    problems = tariffs.coverage_problems(
        [
            tariffs.Period(
                days=row.days,
                start_min=tariffs.minutes(row.start),
                end_min=tariffs.period_end_min(row.end),
                import_price=row.import_price_per_kwh,
            )
            for row in rows
        ]
    )
    if problems and kind == TariffKind.TIME_OF_USE:
        raise field_error("periods", " ".join(problems[:3]), code=ErrorCode.INVALID)
    tariff.save()
    tariff.periods.all().delete()
    TariffPeriod.objects.bulk_create(rows)
    return tariff


def _check_prices_fit_kind(
    kind: str, import_price: float | None, periods: list[PeriodInput]
) -> None:
    if kind == TariffKind.FIXED and import_price is None:
        raise field_error(
            "import_price_per_kwh", "A fixed tariff needs an import price.", code=ErrorCode.INVALID
        )
    if kind != TariffKind.FIXED and import_price is not None:
        raise field_error(
            "import_price_per_kwh",
            "Only a fixed tariff has one import price (time of use: periods; dynamic: the "
            "price signal).",
            code=ErrorCode.INVALID,
        )
    if kind == TariffKind.TIME_OF_USE and not periods:
        raise field_error(
            "periods", "A time-of-use tariff needs periods covering every day.", code="invalid"
        )
    if kind != TariffKind.TIME_OF_USE and periods:
        raise field_error(
            "periods", "Only a time-of-use tariff has periods.", code=ErrorCode.INVALID
        )


def _first(exc: ValidationError) -> tuple[str, str]:
    if hasattr(exc, "error_dict"):
        name, errors = next(iter(exc.error_dict.items()))
        return name, " ".join(errors[0].messages)
    return "value", " ".join(exc.messages)


@transaction.atomic
def tariff_clear(*, user_id: int, home_id: int | str) -> None:
    """Remove a home's tariff: it pays its region's price signals again."""
    try:
        home = device_selectors.home_get(user_id=user_id, home_id=home_id)
    except (Home.DoesNotExist, ValueError, TypeError):
        raise not_found("home_id", "Home") from None
    Tariff.objects.filter(home=home).delete()


# --- Fetching signals ---------------------------------------------------------------------------


@dataclass(slots=True)
class FetchReport:
    """What one run of ``signals_fetch`` did."""

    stored: int = 0
    refused: int = 0
    failed: list[str] = field(default_factory=list)
    """Keys (``provider_key``) of the providers that failed for at least one region."""


NOT_SERVED = "unknown_region"
"""The ``reason`` of a ``ProviderError`` for a region the provider is not configured to serve
(a national carbon feed asked for another country's cell): skipped, neither counted nor
retried."""


def provider_key(provider: Provider) -> str:
    """A provider's name in the fetch task's retries: ``<signal>:<name>``."""
    return f"{provider.signal.value}:{provider.name}"


def signals_fetch(
    *,
    now: datetime,
    only: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
) -> FetchReport:
    """Fetch and store every configured provider's points around ``now`` for the regions in use
    (or ``regions``); ``only`` limits it to the providers with those ``provider_key``s."""
    wanted = set(only) if only is not None else None
    places = sorted(set(regions) if regions is not None else selectors.regions_in_use())
    start = now - timedelta(seconds=float(settings.GRID_FETCH_PAST_S))
    end = now + timedelta(seconds=float(settings.GRID_FETCH_AHEAD_S))
    report = FetchReport()
    for signal in Signal:
        for provider in registry.providers(signal):
            key = provider_key(provider)
            if provider.name == synthetic.NAME or (wanted is not None and key not in wanted):
                continue
            for region in places:
                outcome = _fetch_one(provider, region, start, end, now, report)
                if outcome == NOT_SERVED:
                    continue  # a region the provider is not configured for: nothing to ask
                metrics.signal_fetched(provider=provider.name, signal=signal.value, outcome=outcome)
                if outcome != "ok" and key not in report.failed:
                    report.failed.append(key)
    return report


def _fetch_one(
    provider: Provider,
    region: str,
    start: datetime,
    end: datetime,
    now: datetime,
    report: FetchReport,
) -> str:
    where = {"provider": provider.name, "signal": provider.signal.value, "region": region}
    try:
        points = provider.fetch(region, start, end)
    except ProviderError as exc:
        reason = str(getattr(exc, "reason", "") or "error")
        if reason == NOT_SERVED:
            logger.debug("grid signal provider does not serve this region: %s", where)
            return reason
        logger.warning("grid signal fetch failed (%s): %s %s", reason, where, exc)
        return reason
    except TimeoutError as exc:
        logger.warning("grid signal fetch timed out: %s %s", where, exc)
        return "timeout"
    except Exception:
        # A provider's bug must not stop the others; it is logged with its traceback.
        logger.exception("grid signal provider crashed: %s", where)
        return "crash"
    rows, refused = _valid_rows(provider, region, points, now)
    for reason, count in refused.items():
        metrics.signal_points_refused(provider=provider.name, reason=reason, count=count)
        report.refused += count
    if refused:
        logger.warning("grid signal points refused: %s %s", where, dict(refused))
    if not rows and points:
        return "invalid"
    SignalPoint.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["signal", "region", "source", "start"],
        update_fields=["end", "value", "fetched_at"],
    )
    report.stored += len(rows)
    return "ok"


def _valid_rows(
    provider: Provider, region: str, points: Any, now: datetime
) -> tuple[list[SignalPoint], dict[str, int]]:
    low, high = SIGNAL_RANGES[provider.signal]
    refused: dict[str, int] = {}
    rows: dict[datetime, SignalPoint] = {}
    for point in points if isinstance(points, list) else []:
        reason = _refusal(point, low, high)
        if reason is not None:
            refused[reason] = refused.get(reason, 0) + 1
            continue
        rows[point.start] = SignalPoint(
            signal=provider.signal.value,
            region=region,
            source=provider.name,
            start=point.start,
            end=point.end,
            value=float(point.value),
            fetched_at=now,
        )
    if not isinstance(points, list):
        refused["not_a_list"] = 1
    return list(rows.values()), refused


def _refusal(point: object, low: float, high: float) -> str | None:
    if not isinstance(point, Point):
        return "not_a_point"
    if not isinstance(point.value, int | float) or not math.isfinite(point.value):
        return "not_finite"
    if not low <= point.value <= high:
        return "out_of_range"
    start, end = point.start, point.end
    if (
        not isinstance(start, datetime)
        or not isinstance(end, datetime)
        or start.tzinfo is None
        or end.tzinfo is None
        or end <= start
        or end - start > timedelta(days=1)
    ):
        return "bad_span"
    return None
