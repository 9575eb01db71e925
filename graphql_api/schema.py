"""The one schema: queries, mutations (and, later, subscriptions) with their guards."""

from collections.abc import Callable

import strawberry
from django.conf import settings
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as create_alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as create_depth_validator
from strawberry.schema.config import StrawberryConfig

from graphql_api.accounts.mutations import AccountMutation
from graphql_api.devices.mutations import DeviceMutation
from graphql_api.devices.queries import DeviceQuery
from graphql_api.devices.types import DEVICE_TYPES
from graphql_api.errors import should_mask_error
from graphql_api.hardware.mutations import HardwareMutation
from graphql_api.hardware.queries import HardwareQuery
from graphql_api.live.queries import EnergyStatsQuery
from graphql_api.live.subscriptions import DeviceSubscription
from graphql_api.metrics import OperationMetrics


@strawberry.type
class Query(DeviceQuery, EnergyStatsQuery, HardwareQuery):
    pass


@strawberry.type
class Mutation(AccountMutation, DeviceMutation, HardwareMutation):
    pass


@strawberry.type
class Subscription(DeviceSubscription):
    pass


def extensions() -> list[Callable[[], SchemaExtension]]:
    """Guards and caches, built fresh per request (the parse/validation caches are shared).

    The depth and alias rules are built once: QueryDepthLimiter and MaxAliasesLimiter make a
    new rule class per instance, and the rule classes are part of ValidationCache's key, so
    per-request instances would make every validation a cache miss.
    """
    guard_rules: list[type[ASTValidationRule]] = [
        create_depth_validator(settings.GRAPHQL_MAX_DEPTH, None),
        create_alias_validator(settings.GRAPHQL_MAX_ALIASES),
    ]
    chosen: list[Callable[[], SchemaExtension]] = [
        OperationMetrics,  # first: its time covers the guards, parsing and validation too
        lambda: MaxTokensLimiter(max_token_count=settings.GRAPHQL_MAX_TOKENS),
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: AddValidationRules(guard_rules),
        lambda: MaskErrors(should_mask_error=should_mask_error),
    ]
    if not settings.GRAPHQL_INTROSPECTION:
        chosen.append(DisableIntrospection)
    return chosen


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=list(DEVICE_TYPES),
    extensions=extensions(),
    config=StrawberryConfig(disable_field_suggestions=True),
)
