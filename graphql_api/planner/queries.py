"""Queries of forecasts, plans, decisions and savings, always of the caller's own homes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
import strawberry_django
from django.utils import timezone
from strawberry.types import Info

from devices.models import Home
from graphql_api.context import current_user_id
from graphql_api.errors import PublicError
from graphql_api.permissions import IsAuthenticated
from graphql_api.planner.types import (
    DecisionType,
    ForecastType,
    OptimizationGoalType,
    PlanType,
    SavingsType,
)
from planner import selectors, services

DEFAULT_DECISIONS = 200
From = Annotated[datetime, strawberry.argument(name="from")]


def _not_found() -> PublicError:
    return PublicError("Home not found.", code="NOT_FOUND", field="homeId")


def _bad_range(exc: selectors.RangeError) -> PublicError:
    return PublicError(str(exc), code="BAD_RANGE", field=exc.field)


@strawberry.type
class PlannerQuery:
    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="A home's optimisation goal; null when it has none (its plans then "
        "minimise cost, and no savings are recorded).",
    )
    def optimization_goal(self, info: Info, home_id: strawberry.ID) -> OptimizationGoalType | None:
        try:
            home = selectors.home_get(user_id=current_user_id(info), home_id=home_id)
        except Home.DoesNotExist:
            raise _not_found() from None
        goal = selectors.goal_get(home=home)
        return None if goal is None else OptimizationGoalType.of(goal)

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

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="The decisions the home's followed plans applied to its devices for "
        f"intervals starting in [from, to) (at most {selectors.MAX_RANGE.days} days): the "
        f"latest `limit` (1 to {selectors.MAX_DECISIONS}, {DEFAULT_DECISIONS} by default), "
        "oldest first by interval start and device.",
    )
    def decisions(
        self, info: Info, home_id: strawberry.ID, from_: From, to: datetime,
        limit: int = DEFAULT_DECISIONS,
    ) -> list[DecisionType]:  # fmt: skip
        if not 1 <= limit <= selectors.MAX_DECISIONS:
            raise PublicError(f"`limit` must be 1 to {selectors.MAX_DECISIONS}.", field="limit")
        try:
            found = selectors.decisions_list(
                user_id=current_user_id(info), home_id=home_id, start=from_, end=to, limit=limit
            )
        except Home.DoesNotExist:
            raise _not_found() from None
        except selectors.RangeError as exc:
            raise _bad_range(exc) from None
        return [DecisionType.of(decision) for decision in found]

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="Realised cost and carbon of the home against its greedy twin over the "
        f"ticks ending in [from, to) (at most {selectors.MAX_RANGE.days} days) when it had a "
        "goal, per hour with running totals, and its plans' forecast errors.",
    )
    def savings(self, info: Info, home_id: strawberry.ID, from_: From, to: datetime) -> SavingsType:
        try:
            found = selectors.savings_get(
                user_id=current_user_id(info), home_id=home_id, start=from_, end=to
            )
        except Home.DoesNotExist:
            raise _not_found() from None
        except selectors.RangeError as exc:
            raise _bad_range(exc) from None
        return SavingsType.of(found)
