"""The one schema: queries, mutations and subscriptions with their guards."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import strawberry
from django.conf import settings
from graphql import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import create_validator as create_alias_validator
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from graphql_api.accounts.mutations import AccountMutation
from graphql_api.devices.mutations import DeviceMutation
from graphql_api.devices.queries import DeviceQuery
from graphql_api.devices.types import DEVICE_TYPES
from graphql_api.documents import Documents, documents_from_settings
from graphql_api.errors import is_unexpected, should_mask_error, suggestions_removed
from graphql_api.grid.mutations import GridMutation
from graphql_api.grid.queries import GridQuery
from graphql_api.hardware.mutations import HardwareMutation
from graphql_api.hardware.queries import HardwareQuery
from graphql_api.live.ledger import LedgerQuery
from graphql_api.live.queries import EnergyStatsQuery
from graphql_api.live.subscriptions import DeviceSubscription
from graphql_api.metrics import OperationMetrics
from graphql_api.planner.mutations import PlannerMutation
from graphql_api.planner.queries import PlannerQuery
from graphql_api.scalars import SCALAR_MAP

logger = logging.getLogger("strawberry.execution")


@strawberry.type
class Query(DeviceQuery, EnergyStatsQuery, HardwareQuery, GridQuery, LedgerQuery, PlannerQuery):
    pass


@strawberry.type
class Mutation(AccountMutation, DeviceMutation, HardwareMutation, GridMutation, PlannerMutation):
    pass


@strawberry.type
class Subscription(DeviceSubscription):
    pass


class Schema(strawberry.Schema):
    """The schema with its :class:`~graphql_api.documents.Documents`, and quiet about clients.

    Strawberry logs every error with its traceback, a refused token included. Here only errors
    that escaped a resolver (the ones masked as "Unexpected error.") are logged with theirs;
    a client's bad request is its answer, not an incident. With introspection off, no error
    suggests names ("Did you mean 'Battery'?") for types, fields, arguments or values.
    """

    def __init__(self, *args: Any, documents: Documents, **kwargs: Any) -> None:
        self.documents = documents
        super().__init__(*args, **kwargs)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if self.documents.hide_suggestions:
                suggestions_removed(error)
            if is_unexpected(error):
                logger.error(error, exc_info=error.original_error)
            else:
                logger.debug("request refused: %s", error.message)


def introspection_enabled() -> bool:
    """Introspection (and GraphiQL) only while ``DEBUG`` is on, whatever the settings module."""
    return bool(settings.DEBUG and settings.GRAPHQL_INTROSPECTION)


def build_schema() -> Schema:
    """The schema as configured by the current settings (read once, here)."""
    introspection = introspection_enabled()
    documents = documents_from_settings(settings, hide_suggestions=not introspection)
    # Built once: MaxAliasesLimiter makes a new rule class per instance, and the rules are
    # fixed for the documents' validation cache.
    guard_rules: list[type[ASTValidationRule]] = [
        create_alias_validator(settings.GRAPHQL_MAX_ALIASES)
    ]
    chosen: list[Callable[[], SchemaExtension]] = [
        OperationMetrics,  # first: its time covers the guards, parsing and validation too
        documents.extension,
        lambda: AddValidationRules(guard_rules),
        lambda: MaskErrors(should_mask_error=should_mask_error),
    ]
    if not introspection:
        chosen.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(DEVICE_TYPES),
        extensions=chosen,
        config=StrawberryConfig(disable_field_suggestions=not introspection, scalar_map=SCALAR_MAP),
        documents=documents,
    )


schema = build_schema()
