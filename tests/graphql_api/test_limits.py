"""The schema's guards: depth, aliases, tokens, introspection, suggestions, error masking."""

import logging
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
    [error] = gql(document)["errors"]
    assert error["message"] == (
        "The selection at me.me.me.me.me.me.me.me.me.me.me is nested more than 10 levels deep."
    )
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX"}
    # ten levels pass the guard (and validation then says what this schema has)
    [error] = gql("query { " + "me { " * 10 + "id" + " }" * 10 + " }")["errors"]
    assert error["message"] == "Cannot query field 'me' on type 'User'."


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


def test_unexpected_errors_are_masked(
    gql: GraphQLClient, monkeypatch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from devices import selectors

    def explode(**_: Any) -> Any:
        raise RuntimeError("secret detail /srv/app/db.py line 3")

    monkeypatch.setattr(selectors, "home_list", explode)
    result = gql("{ homes { id } }")
    assert result["errors"][0]["message"] == "Unexpected error."
    assert "secret" not in str(result) and "Traceback" not in str(result)
    # the server's log keeps the traceback of its own fault (as text: the redacting filter
    # replaces the exception object with its redacted traceback)
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_text is not None and "RuntimeError" in record.exc_text
    # the server keeps serving
    monkeypatch.undo()
    assert gql("{ homes { id } }")["data"] == {"homes": []}


def test_a_refused_request_writes_no_traceback(
    anon: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    """An anonymous `{ homes { id } }` used to log 52 lines of traceback: it is an answer."""
    caplog.set_level(logging.DEBUG)
    for document in ("{ homes { id } }", "{ hom { id } }", "{ me { " + "id " * 20 + "} }"):
        assert anon(document)["errors"]
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING] == []
    assert "Traceback" not in caplog.text


def test_get_requests_are_refused(user: Any) -> None:
    from tests.asgi_client import Client

    response = Client().get("/graphql/", {"query": "{ me { id } }"})
    assert response.status_code in (400, 405)


def test_every_device_model_has_a_graphql_type() -> None:
    from devices.models import DEVICE_MODELS

    sdl = schema.as_str()
    for model in DEVICE_MODELS.values():
        assert f"type {model.__name__} implements Device" in sdl


def test_repeated_documents_hit_the_document_cache(gql: GraphQLClient) -> None:
    cache = schema.documents.cache
    document = "{ homes { id name } }"
    gql(document)
    assert cache.get(document) is not None and cache.get(document).errors == ()
    before = (cache.hits, cache.misses)
    for _ in range(3):
        gql(document)
    assert (cache.hits - before[0], cache.misses - before[1]) == (3, 0)


def test_a_subscription_over_http_is_told_to_use_websocket(gql: GraphQLClient) -> None:
    result = gql("subscription { energyStats { netGridFlowW } }")
    assert result.get("data") is None
    [error] = result["errors"]
    assert error["extensions"] == {"code": "USE_WEBSOCKET"}
    assert "WebSocket" in error["message"] and "graphql-transport-ws" in error["message"]
