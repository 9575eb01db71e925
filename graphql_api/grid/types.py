"""Types of grid signals and tariffs."""

from __future__ import annotations

from datetime import datetime, time
from enum import Enum

import strawberry

from grid import resolver
from grid.models import TariffKind as TariffKindChoices
from grid.selectors import TariffView


@strawberry.enum(
    name="TariffKind",
    description="FIXED: one import price; TIME_OF_USE: prices by local time and day; DYNAMIC: "
    "the region's import price signal.",
)
class TariffKind(Enum):
    FIXED = TariffKindChoices.FIXED.value
    TIME_OF_USE = TariffKindChoices.TIME_OF_USE.value
    DYNAMIC = TariffKindChoices.DYNAMIC.value


@strawberry.type(name="SignalPoint", description="A signal's value over [start, end).")
class SignalPointType:
    start: datetime
    end: datetime
    value: float
    source: str = strawberry.field(
        description="Where the value came from: a provider's name, \"tariff\" (the home's own "
        'price), or "synthetic" (the built-in model).'
    )
    stale: bool = strawberry.field(
        description="True when the value stands in for a missing one: the provider's last good "
        "value, or the synthetic value where another provider is configured."
    )
    observed: bool = strawberry.field(
        description="True for an observation (the provider gave the value after its interval "
        "ended, replacing its forecast), false for a forecast, a tariff price or the synthetic "
        "model's value."
    )

    @classmethod
    def of(cls, point: resolver.ResolvedPoint) -> SignalPointType:
        return cls(
            start=point.start,
            end=point.end,
            value=point.value,
            source=point.source,
            stale=point.stale,
            observed=point.observed,
        )


@strawberry.type(name="GridSignals", description="A home's prices, carbon and weather.")
class GridSignalsType:
    home_id: strawberry.ID
    region: str
    currency: str
    import_price: list[SignalPointType] = strawberry.field(description="[currency/kWh]")
    export_price: list[SignalPointType] = strawberry.field(description="[currency/kWh]")
    carbon_intensity: list[SignalPointType] = strawberry.field(description="[gCO2e/kWh]")
    cloud_cover: list[SignalPointType] = strawberry.field(description="0..1 [-]")
    temperature_c: list[SignalPointType] = strawberry.field(description="[°C]")


@strawberry.type(
    name="TariffPeriod",
    description="An import price over [start, end) local time on the days of `days` (a mask: "
    "bit 0 Monday … bit 6 Sunday); `end` 00:00 is midnight at the end of the day.",
)
class TariffPeriodType:
    days: int
    start: time
    end: time
    import_price_per_kwh: float


@strawberry.type(name="Tariff")
class TariffType:
    home_id: strawberry.ID
    kind: TariffKind
    currency: str
    standing_charge_per_day: float
    import_price_per_kwh: float | None
    export_price_per_kwh: float | None = strawberry.field(
        description="A fixed export price; null: the region's export price signal."
    )
    region: str = strawberry.field(description="The region of the home's signals.")
    periods: list[TariffPeriodType]
    is_default: bool = strawberry.field(
        description="True when the home has no tariff of its own: the default dynamic one."
    )

    @classmethod
    def of(cls, view: TariffView) -> TariffType:
        return cls(
            home_id=strawberry.ID(str(view.home_id)),
            kind=TariffKind(view.kind),
            currency=view.currency,
            standing_charge_per_day=view.standing_charge_per_day,
            import_price_per_kwh=view.import_price_per_kwh,
            export_price_per_kwh=view.export_price_per_kwh,
            region=view.region,
            periods=[
                TariffPeriodType(
                    days=p.days,
                    start=p.start,
                    end=p.end,
                    import_price_per_kwh=p.import_price_per_kwh,
                )
                for p in view.periods
            ],
            is_default=view.is_default,
        )


@strawberry.input(name="TariffPeriodInput")
class TariffPeriodInput:
    days: int = strawberry.field(description="Days as a mask: bit 0 Monday … bit 6 Sunday.")
    start: time
    end: time = strawberry.field(description="00:00 is midnight at the end of the day.")
    import_price_per_kwh: float


@strawberry.input(
    name="TariffInput",
    description="The whole tariff; it replaces the home's. Time of use: periods covering every "
    "minute of every day exactly once, in the home's local time.",
)
class TariffInput:
    kind: TariffKind
    currency: str = "EUR"
    standing_charge_per_day: float = 0.0
    import_price_per_kwh: float | None = None
    export_price_per_kwh: float | None = None
    region: str = strawberry.field(
        default="", description="Empty: the home's own 1° cell (geo:<lat>,<lon>)."
    )
    periods: list[TariffPeriodInput] = strawberry.field(default_factory=list)
