"""Setting a home's optimisation goal."""

from __future__ import annotations

import strawberry
import strawberry_django
from strawberry.types import Info

from graphql_api.context import current_user_id
from graphql_api.permissions import IsAuthenticated
from graphql_api.planner.types import OptimizationGoalInput, OptimizationGoalType
from planner import services


@strawberry.type
class PlannerMutation:
    @strawberry_django.mutation(
        permission_classes=[IsAuthenticated],
        handle_django_errors=True,
        description="Set what a home's plans minimise, and its grid limits. Every mistake is "
        "a field error; nothing is stored then.",
    )
    def set_optimization_goal(
        self, info: Info, home_id: strawberry.ID, input: OptimizationGoalInput
    ) -> OptimizationGoalType:
        goal = services.goal_set(
            user_id=current_user_id(info),
            home_id=home_id,
            objective=input.objective.value,
            grid_import_max_w=input.grid_import_max_w,
            grid_export_max_w=input.grid_export_max_w,
        )
        return OptimizationGoalType.of(goal)
