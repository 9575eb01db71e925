"""Queries of forecasts and plans, always of the caller's own homes."""

from __future__ import annotations

import strawberry
import strawberry_django
from django.utils import timezone
from strawberry.types import Info

from devices.models import Home
from graphql_api.context import current_user_id
from graphql_api.errors import PublicError
from graphql_api.permissions import IsAuthenticated
from graphql_api.planner.types import ForecastType, PlanType
from planner import selectors, services


def _not_found() -> PublicError:
    return PublicError("Home not found.", code="NOT_FOUND", field="homeId")


@strawberry.type
class PlannerQuery:
    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="A home's forecast per 15-minute interval over the next `hours` (1 to 48): "
        "solar, base load, heating and cooling, the car's presence, prices, carbon and weather.",
    )
    def forecast(self, info: Info, home_id: strawberry.ID, hours: int = 24) -> ForecastType:
        if not 1 <= hours <= selectors.MAX_FORECAST_HOURS:
            raise PublicError("`hours` must be 1 to 48.", field="hours")
        try:
            inputs = selectors.home_forecast(
                user_id=current_user_id(info), home_id=home_id, now=timezone.now(), hours=hours
            )
        except Home.DoesNotExist:
            raise _not_found() from None
        return ForecastType.of(inputs)

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="A home's plan for the next 24 hours under its goal (cost when it has "
        "none), with the greedy rule's figures on the same inputs. Made on demand; the same plan "
        "is answered for 15 minutes while its inputs do not change.",
    )
    def plan(self, info: Info, home_id: strawberry.ID) -> PlanType:
        try:
            view = services.plan_get_or_make(
                user_id=current_user_id(info), home_id=home_id, now=timezone.now()
            )
        except Home.DoesNotExist:
            raise _not_found() from None
        return PlanType.of(view)
