"""Authentication is declared on every root field (``IsAuthenticated``), but for a public few.

The walk reads the schema the server runs, so a new root field without
``permission_classes=[IsAuthenticated]`` fails here until it is guarded or, deliberately,
listed as public.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from strawberry.permission import PermissionExtension
from strawberry.types import ExecutionResult
from strawberry.types.field import StrawberryField

from graphql_api.context import Context
from graphql_api.permissions import IsAuthenticated
from graphql_api.schema import schema
from tests.asgi_client import Client
from tests.conftest import GraphQLClient

#: Root fields anyone may call: they are how a caller gets, renews or gives up a token.
PUBLIC_FIELDS = {
    "Mutation.register",  # creates the account that then logs in
    "Mutation.loginUser",  # exchanges a password for the first token pair
    "Mutation.refreshToken",  # the access token expired: the refresh token is the proof
    "Mutation.logout",  # revokes by refresh token, which outlives the access token
}
ROOT_TYPES = ("Query", "Mutation", "Subscription")


def root_fields(checked: strawberry.Schema) -> Iterator[tuple[str, StrawberryField]]:
    """``("Type.field", field)`` for each root field, as the schema resolves it."""
    for type_name in ROOT_TYPES:
        definition = checked.get_type_by_name(type_name)
        if definition is None:
            continue
        for field in definition.fields:  # type: ignore[union-attr]
            yield f"{type_name}.{checked.config.name_converter.from_field(field)}", field


def is_guarded(field: StrawberryField) -> bool:
    return any(
        isinstance(permission, IsAuthenticated)
        for extension in field.extensions
        if isinstance(extension, PermissionExtension)
        for permission in extension.permissions
    )


def unguarded(checked: strawberry.Schema) -> list[str]:
    return sorted(
        name
        for name, field in root_fields(checked)
        if not is_guarded(field) and name not in PUBLIC_FIELDS
    )


def test_every_root_field_is_guarded_or_public() -> None:
    assert unguarded(schema) == [], "guard these with permission_classes=[IsAuthenticated]"


def test_public_fields_exist_and_are_not_guarded() -> None:
    guarded = {name: is_guarded(field) for name, field in root_fields(schema)}
    assert {name: guarded.get(name) for name in PUBLIC_FIELDS} == dict.fromkeys(
        PUBLIC_FIELDS, False
    )
    assert {"Query.me", "Query.homes", "Mutation.createHome", "Subscription.alerts"} <= {
        name for name, yes in guarded.items() if yes
    }
    assert {name for name, yes in guarded.items() if not yes} == PUBLIC_FIELDS


def test_no_guarded_field_has_an_argument_named_like_the_guards_own() -> None:
    # The guard gets the field's arguments as keywords next to its own `next_, source, info`:
    # an argument with one of those Python names fails every call with a TypeError, masked as
    # "Unexpected error." (name it `source_` with strawberry.argument(name="source")).
    own = {
        name
        for name, parameter in inspect.signature(PermissionExtension.resolve).parameters.items()
        if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and name != "self"
    }
    assert own >= {"source", "info"}
    clashes = [
        f"{name}({argument.python_name})"
        for name, field in root_fields(schema)
        if is_guarded(field)
        for argument in field.arguments
        if argument.python_name in own
    ]
    assert clashes == []


def test_the_walk_reports_an_unguarded_field() -> None:
    @strawberry.type
    class Query:
        @strawberry.field(permission_classes=[IsAuthenticated])
        def guarded(self) -> int:
            return 1

        @strawberry.field
        def forgotten(self) -> int:
            return 2

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def login_user(self) -> int:
            return 3

        @strawberry.mutation
        def wipe_everything(self) -> int:
            return 4

    toy = strawberry.Schema(query=Query, mutation=Mutation)
    assert unguarded(toy) == ["Mutation.wipeEverything", "Query.forgotten"]


# --- an anonymous call is refused by the field's guard, before its resolver runs ---------------


def refuse_resolver(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make the resolvers' own ``current_user_id`` fail the test: only the guard may refuse."""

    def reached(info: Any) -> int:
        raise AssertionError("the resolver ran for an anonymous caller")

    monkeypatch.setattr(f"{module}.current_user_id", reached)


def assert_unauthenticated(result: dict[str, Any], field: str, message: str) -> None:
    assert result["data"] is None
    [error] = result["errors"]
    assert error["message"] == message
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert error["path"] == [field]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token", "message"),
    [(None, "Authentication required."), ("not-a-jwt", "Invalid or expired token.")],
)
def test_anonymous_query_and_mutation_are_refused(
    monkeypatch: pytest.MonkeyPatch, token: str | None, message: str
) -> None:
    refuse_resolver(monkeypatch, "graphql_api.devices.queries")
    refuse_resolver(monkeypatch, "graphql_api.devices.mutations")
    anonymous = GraphQLClient(Client(), token)
    assert_unauthenticated(anonymous("{ homes { id } }"), "homes", message)
    create = """mutation {
      createHome(input: {name: "Home", latitude: 52.5, longitude: 13.4,
                         timezone: "Europe/Berlin"}) { ... on Home { id } }
    }"""
    assert_unauthenticated(anonymous(create), "createHome", message)


@pytest.mark.django_db
def test_public_mutation_still_answers_anonymous_callers(anon: GraphQLClient) -> None:
    result = anon('mutation { logout(refreshToken: "unknown") }')
    assert result == {"data": {"logout": True}}


def test_anonymous_subscription_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Over WebSocket a caller without a valid token never gets past `connection_init` (4403,
    # test_subscriptions_protocol.py), so the field's own guard is checked in process.
    refuse_resolver(monkeypatch, "graphql_api.live.subscriptions")

    async def subscribe() -> list[dict[str, Any]]:
        result = await schema.subscribe(
            "subscription { alerts { id } }",
            context_value=Context(request=None, response=None),
        )
        assert not isinstance(result, ExecutionResult), result
        return [
            {"data": item.data, "errors": [error.formatted for error in item.errors or []]}
            async for item in result
        ]

    [result] = asyncio.run(subscribe())
    assert_unauthenticated(result, "alerts", "Authentication required.")
