"""The schema's guards: depth, aliases, tokens, introspection, suggestions, error masking."""

from typing import Any

import pytest

from graphql_api.schema import schema
from tests.conftest import GraphQLClient

pytestmark = pytest.mark.django_db


def test_query_depth_is_limited(gql: GraphQLClient) -> None:
    ok = gql("{ homes { devices { id } } }")
    assert "errors" not in ok
    deep = "{ a: homes " + "{ devices " * 1 + "{ id } } }"
    assert "errors" not in gql(deep)
    # Build a document deeper than the limit through nested fragments-free selections.
    document = "query { " + "me { " * 12 + "id" + " }" * 12 + " }"
    result = gql(document)
    assert any("exceeds maximum operation depth" in e["message"] for e in result["errors"])


def test_alias_count_is_limited(gql: GraphQLClient) -> None:
    within = "{ " + " ".join(f"a{n}: me {{ id }}" for n in range(15)) + " }"
    assert "errors" not in gql(within)
    beyond = "{ " + " ".join(f"a{n}: me {{ id }}" for n in range(16)) + " }"
    result = gql(beyond)
    assert "aliases found" in result["errors"][0]["message"]
    assert result.get("data") is None


def test_token_count_is_limited(gql: GraphQLClient) -> None:
    document = "{ me { " + " ".join(["id"] * 2100) + " } }"
    result = gql(document)
    assert "token" in result["errors"][0]["message"].lower()


def test_introspection_is_off_without_debug(gql: GraphQLClient) -> None:
    result = gql("{ __schema { types { name } } }")
    assert result.get("data") is None
    assert "introspection" in result["errors"][0]["message"].lower()


def test_field_suggestions_do_not_leak_the_schema(gql: GraphQLClient) -> None:
    result = gql("{ hom { id } }")
    message = result["errors"][0]["message"]
    assert "Did you mean" not in message and "homes" not in message


def test_unexpected_errors_are_masked(gql: GraphQLClient, monkeypatch: Any) -> None:
    from devices import selectors

    def explode(**_: Any) -> Any:
        raise RuntimeError("secret detail /srv/app/db.py line 3")

    monkeypatch.setattr(selectors, "home_list", explode)
    result = gql("{ homes { id } }")
    assert result["errors"][0]["message"] == "Unexpected error."
    assert "secret" not in str(result) and "Traceback" not in str(result)
    # the server keeps serving
    monkeypatch.undo()
    assert gql("{ homes { id } }")["data"] == {"homes": []}


def test_get_requests_are_refused(user: Any) -> None:
    from django.test import Client

    response = Client().get("/graphql/", {"query": "{ me { id } }"})
    assert response.status_code in (400, 405)


def test_every_device_model_has_a_graphql_type() -> None:
    from devices.models import DEVICE_MODELS

    sdl = schema.as_str()
    for model in DEVICE_MODELS.values():
        assert f"type {model.__name__} implements Device" in sdl


def test_repeated_documents_hit_the_validation_cache(gql: GraphQLClient) -> None:
    from strawberry.extensions.validation_cache import _get_validate_cache

    cached_validate = _get_validate_cache(512)
    document = "{ homes { id name } }"
    gql(document)
    before = cached_validate.cache_info()
    for _ in range(3):
        gql(document)
    after = cached_validate.cache_info()
    assert after.hits - before.hits == 3
    assert after.misses == before.misses
