"""Queries of grid signals and tariffs, always of the caller's own homes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import strawberry
import strawberry_django
from strawberry.types import Info

from devices.models import Home
from graphql_api.context import current_user_id
from graphql_api.errors import PublicError
from graphql_api.grid.types import GridSignalsType, SignalPointType, TariffType
from graphql_api.permissions import IsAuthenticated
from grid import resolver, selectors
from grid.providers.base import Signal

From = Annotated[datetime, strawberry.argument(name="from")]
MAX_RANGE = timedelta(days=7)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@strawberry.type
class GridQuery:
    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="Prices, carbon intensity and weather of a home over [from, to) (at most 7 "
        "days), one point per half hour, each with its source and whether it is stale.",
    )
    def grid_signals(
        self, info: Info, home_id: strawberry.ID, from_: From, to: datetime
    ) -> GridSignalsType:
        if not EARLIEST <= from_ < to <= LATEST:
            raise PublicError("`from` must come before `to`, both from 1970 to 2200.", field="from")
        if to - from_ > MAX_RANGE:
            raise PublicError("`to` must be at most 7 days after `from`.", field="to")
        try:
            view = selectors.tariff_view(user_id=current_user_id(info), home_id=home_id)
        except (Home.DoesNotExist, ValueError):
            raise PublicError("Home not found.", code="NOT_FOUND", field="homeId") from None
        series = resolver.home_series(region=view.region, spec=view.spec, start=from_, end=to)

        def points(signal: Signal) -> list[SignalPointType]:
            return [SignalPointType.of(point) for point in series[signal]]

        return GridSignalsType(
            home_id=strawberry.ID(str(view.home_id)),
            region=view.region,
            currency=view.currency,
            import_price=points(Signal.IMPORT_PRICE),
            export_price=points(Signal.EXPORT_PRICE),
            carbon_intensity=points(Signal.CARBON_INTENSITY),
            cloud_cover=points(Signal.CLOUD_COVER),
            temperature_c=points(Signal.TEMPERATURE),
        )

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="A home's tariff (the default dynamic one when it has none); null when the "
        "home is not yours or does not exist.",
    )
    def tariff(self, info: Info, home_id: strawberry.ID) -> TariffType | None:
        try:
            return TariffType.of(
                selectors.tariff_view(user_id=current_user_id(info), home_id=home_id)
            )
        except (Home.DoesNotExist, ValueError):
            return None
