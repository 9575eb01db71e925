"""Setting a home's tariff."""

from __future__ import annotations

import strawberry
import strawberry_django
from strawberry.types import Info

from graphql_api.context import current_user_id
from graphql_api.grid.types import TariffInput, TariffType
from graphql_api.permissions import IsAuthenticated
from grid import selectors, services


@strawberry.type
class GridMutation:
    @strawberry_django.mutation(
        permission_classes=[IsAuthenticated],
        handle_django_errors=True,
        description="Replace a home's tariff. Overlapping or missing time-of-use periods, and "
        "every other mistake, are field errors; nothing is stored then.",
    )
    def set_tariff(self, info: Info, home_id: strawberry.ID, input: TariffInput) -> TariffType:
        user_id = current_user_id(info)
        services.tariff_set(
            user_id=user_id,
            home_id=home_id,
            kind=input.kind.value,
            currency=input.currency,
            standing_charge_per_day=input.standing_charge_per_day,
            import_price_per_kwh=input.import_price_per_kwh,
            export_price_per_kwh=input.export_price_per_kwh,
            region=input.region,
            periods=[
                services.PeriodInput(
                    days=p.days,
                    start=p.start,
                    end=p.end,
                    import_price_per_kwh=p.import_price_per_kwh,
                )
                for p in input.periods
            ],
        )
        return TariffType.of(selectors.tariff_view(user_id=user_id, home_id=home_id))
