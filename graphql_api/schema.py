"""The one schema: queries, mutations (and, later, subscriptions) with their guards."""

from collections.abc import Callable

import strawberry
from django.conf import settings
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from graphql_api.accounts.mutations import AccountMutation
from graphql_api.devices.mutations import DeviceMutation
from graphql_api.devices.queries import DeviceQuery
from graphql_api.devices.types import DEVICE_TYPES
from graphql_api.errors import should_mask_error


@strawberry.type
class Query(DeviceQuery):
    pass


@strawberry.type
class Mutation(AccountMutation, DeviceMutation):
    pass


def extensions() -> list[Callable[[], SchemaExtension]]:
    """Guards and caches, built fresh per request (the parse/validation caches are shared)."""
    chosen: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=settings.GRAPHQL_MAX_TOKENS),
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: QueryDepthLimiter(max_depth=settings.GRAPHQL_MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=settings.GRAPHQL_MAX_ALIASES),
        lambda: MaskErrors(should_mask_error=should_mask_error),
    ]
    if not settings.GRAPHQL_INTROSPECTION:
        chosen.append(DisableIntrospection)
    return chosen


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=list(DEVICE_TYPES),
    extensions=extensions(),
    config=StrawberryConfig(disable_field_suggestions=True),
)
