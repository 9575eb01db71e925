"""Documents are bounded before parsing, checked before validation, and cached within bytes."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import tracemalloc
from typing import Any

import pytest
from graphql import get_introspection_query, parse, validate

from graphql_api import documents as documents_module
from graphql_api.documents import (
    DocumentCache,
    DocumentLimits,
    DocumentRefused,
    Documents,
    document_check,
    document_cost,
)
from graphql_api.schema import schema
from tests.asgi_client import Client
from tests.conftest import GraphQLClient, token_for
from tests.graphql_api.live_server import RawClient, live_server

LIMITS = DocumentLimits(
    max_bytes=32768, max_tokens=2000, max_fields=500, max_repeats=10, max_depth=10
)


def repeated(count: int, alias: str = "") -> str:
    """``{ me { id id … } }``: ``count`` fields answering at one place (the issue's attack)."""
    fields = ["id"] * count
    if alias:
        fields[-1] = f"{alias}: id"  # a new document every time
    return "{ me { " + " ".join(fields) + " } }"


def padded(size: int, tag: str) -> str:
    """A valid document of about ``size`` bytes, nearly all one comment."""
    body = f"{{ me {{ id }} }} # {tag}\n#"
    return body + "x" * (size - len(body))


def comment_lines(tag: str, lines: int = 1990) -> str:
    """A valid document of many short comment lines: parsed, each line is a kept token."""
    return f"{{ me {{ id }} }} # {tag}\n" + "#\n" * lines


def refusal(result: dict[str, Any]) -> tuple[str, str]:
    assert result.get("data") is None, result
    [error] = result["errors"]
    return error["extensions"]["code"], error["message"]


# --- the guard before validation --------------------------------------------------------------


@pytest.mark.django_db
def test_repeated_fields_are_refused_before_validation(
    gql: GraphQLClient, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,900 repeated fields (within the token limit) cost graphql-core's validation a good
    part of a second; varying one alias per request used to make each request pay it again.
    The guard refuses them before validation runs at all (its cost is a benchmark's business,
    not a timed test's)."""
    validations: list[object] = []
    original_validate = documents_module.validate

    def counted_validate(*args: Any, **kwargs: Any) -> Any:
        validations.append(args)
        return original_validate(*args, **kwargs)

    monkeypatch.setattr(documents_module, "validate", counted_validate)
    answers = [gql(repeated(1900, alias=f"variant{n}")) for n in range(5)]
    for answer in answers:
        assert refusal(answer) == (
            "QUERY_TOO_COMPLEX",
            "'id' is selected more than 10 times at one place (me.id); select it once.",
        )
    assert validations == []  # refused before graphql-core's validation ran
    # the guard leaves ordinary documents alone, and they are validated as before
    assert gql(repeated(10, alias="fine"))["data"] == {
        "me": {"id": str(user.pk), "fine": str(user.pk)}
    }
    assert len(validations) == 1


@pytest.mark.django_db
def test_repeats_count_through_fragments_and_aliases(gql: GraphQLClient) -> None:
    spread = "fragment F on User { id } { me { " + " ".join(["...F"] * 11) + " } }"
    assert refusal(gql(spread))[0] == "QUERY_TOO_COMPLEX"
    inline = "{ me { " + " ".join(["... on User { id }"] * 11) + " } }"
    assert refusal(gql(inline))[0] == "QUERY_TOO_COMPLEX"
    aliased = "{ " + " ".join(["x: me { id }"] * 11) + " }"
    assert refusal(gql(aliased))[0] == "QUERY_TOO_COMPLEX"
    # ten at one place are fine; so are many at different places
    assert "errors" not in gql("{ me { " + " ".join(["... on User { id }"] * 10) + " } }")
    assert "errors" not in gql("{ a: me { id } b: me { id } c: me { id username } }")


def test_wide_documents_and_fragment_bombs_are_refused_quickly() -> None:
    names = " ".join(f"f{n}: id" for n in range(60))
    wide = (
        f"fragment F on User {{ {names} }} {{ "
        + " ".join(f"m{n}: me {{ ...F }}" for n in range(9))
        + " }"
    )
    with pytest.raises(DocumentRefused, match="selects more than 500 fields"):
        document_check(parse(wide), LIMITS)
    # 2**30 fields once every spread is expanded, in a document of 200 bytes
    bomb = (
        "query { me { ...F0 } } "
        + " ".join(f"fragment F{n} on User {{ ...F{n + 1} ...F{n + 1} }}" for n in range(30))
        + " fragment F30 on User { id }"
    )
    started = time.perf_counter()
    with pytest.raises(DocumentRefused) as refused:
        document_check(parse(bomb), LIMITS)
    # the walk stops at the limit instead of expanding 2**30 fields (hours): a bound on
    # termination, far above what a busy machine needs, not a speed figure
    assert time.perf_counter() - started < 5
    assert refused.value.extensions == {"code": "QUERY_TOO_COMPLEX"}


def test_cyclic_fragments_are_left_to_validation() -> None:
    cyclic = "{ me { ...A } } fragment A on User { id ...B } fragment B on User { ...A }"
    document_check(parse(cyclic), LIMITS)  # no endless walk
    errors = validate(schema._schema, parse(cyclic))
    assert any("Cannot spread fragment 'A' within itself" in e.message for e in errors)


def test_the_introspection_query_passes_the_guard() -> None:
    document_check(parse(get_introspection_query(descriptions=True)), LIMITS)


# --- document size ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_documents_over_the_size_limit_are_refused(gql: GraphQLClient, settings: Any) -> None:
    limit = settings.GRAPHQL_MAX_DOCUMENT_BYTES
    assert limit <= 64 * 1024  # well below the 2.5 MB Django would read
    assert gql(padded(limit - 100, "fits"))["data"]["me"]["id"]
    code, message = refusal(gql(padded(limit + 100, "too long")))
    assert code == "DOCUMENT_TOO_LARGE"
    assert message == f"The document is longer than {limit} bytes; send a shorter one."
    # characters are counted as UTF-8 bytes
    body = json.dumps({"query": padded(0, "é" * (limit // 2 + 10))}, ensure_ascii=False)
    assert len(body) < limit < len(body.encode())
    response = Client().post("/graphql/", body.encode(), content_type="application/json")
    assert refusal(response.json())[0] == "DOCUMENT_TOO_LARGE"
    # the issue's 2.4 MB comment-padded documents are not even read: the body is too long
    before = len(schema.documents.cache)
    response = Client().post(
        "/graphql/", {"query": padded(2_400_000, "huge")}, content_type="application/json"
    )
    assert response.status_code == 413
    assert len(schema.documents.cache) == before


@pytest.mark.django_db
def test_request_bodies_over_the_limit_are_refused(user: Any, settings: Any) -> None:
    limit = settings.GRAPHQL_MAX_BODY_BYTES
    response = Client().post(
        "/graphql/",
        {"query": "{ me { id } }", "variables": {"pad": "x" * limit}},
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "BODY_TOO_LARGE"}


# --- the cache, bounded by bytes --------------------------------------------------------------


def retained_bytes(action: Any) -> int:
    """Bytes still allocated after ``action`` (and a collection), traced by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = action()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return after - before


@pytest.mark.parametrize(
    "query",
    [
        repeated(1900),  # one-letter fields: the most tokens per byte
        comment_lines("lines"),  # comment lines: a token each
        padded(32_000, "one comment"),  # one long comment: its text kept twice
        "{ homes(" + " ".join(f"a{n}: 1" for n in range(600)) + ") { id } }",  # arguments
        "{ " + " ".join(f'a{n}: home(id: "{"é" * 40}") {{ id }}' for n in range(180)) + " }",
        get_introspection_query(descriptions=True),
        "{ " + " ".join(f"nope{n}" for n in range(150)) + " }",  # 150 validation errors
    ],
    ids=["fields", "lines", "comment", "arguments", "strings", "introspection", "invalid"],
)
def test_the_cost_estimate_covers_what_a_document_keeps(query: str) -> None:
    def parse_and_validate() -> Any:
        document = parse(query)
        return document, validate(schema._schema, document)

    document, errors = parse_and_validate()
    estimate = document_cost(query, document, errors)
    kept = retained_bytes(parse_and_validate)
    assert estimate >= kept, (estimate, kept)


def test_the_cache_stays_within_its_bytes() -> None:
    """The issue's probe: distinct comment-padded documents grew the process for good."""
    budget = 4 * 1024 * 1024
    documents = Documents(
        limits=LIMITS, cache=DocumentCache(max_bytes=budget, max_entries=1024),
        hide_suggestions=True,
    )  # fmt: skip
    queries = [comment_lines(f"variant {n}") for n in range(40)]  # ~0.4 MB each once parsed

    def fill() -> None:
        for query in queries:
            entry = documents.prepare(query)
            documents.validate(query, entry, schema._schema, ())

    kept = retained_bytes(fill)
    assert documents.cache.size_bytes <= budget
    assert 0 < len(documents.cache) < 40
    assert kept <= budget + 512 * 1024, kept  # what is kept is what the cache counts
    # the newest are the ones kept, and they answer from the cache
    assert documents.cache.get(queries[-1]) is not None
    assert documents.cache.get(queries[0]) is None


@pytest.mark.django_db
def test_the_servers_cache_is_bounded_by_its_setting(gql: GraphQLClient, settings: Any) -> None:
    cache = schema.documents.cache
    assert cache.max_bytes == settings.GRAPHQL_CACHE_BYTES
    for n in range(30):
        assert "errors" not in gql(comment_lines(f"variant {n}"))
    assert cache.size_bytes <= cache.max_bytes
    assert len(cache) < 30


# --- over WebSocket ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_websocket_operations_get_the_same_refusals(user: Any) -> None:
    token = token_for(user)
    too_long = padded(40_000, "too long")
    too_many = "subscription { alerts { " + " ".join(["id"] * 11) + " } }"

    async def run(url: str) -> list[dict[str, Any]]:
        client = await RawClient.connect(url)
        assert (await client.init(token))["type"] == "connection_ack"
        replies = []
        for n, query in enumerate((too_many, too_long, repeated(11))):
            await client.subscribe(str(n), query)
            replies.append(await client.recv())
        # the connection stays open for good documents
        await client.subscribe("ok", "{ me { id } }")
        replies.append(await client.recv())
        await client.close()
        return replies

    with live_server() as server:
        *refused, fine = asyncio.run(run(server.url))
    assert [(r["id"], r["type"], r["payload"][0]["extensions"]["code"]) for r in refused] == [
        ("0", "error", "QUERY_TOO_COMPLEX"),
        ("1", "error", "DOCUMENT_TOO_LARGE"),
        ("2", "error", "QUERY_TOO_COMPLEX"),
    ]
    assert fine == {"id": "ok", "type": "next", "payload": {"data": {"me": {"id": str(user.pk)}}}}


@pytest.mark.django_db(transaction=True)
def test_websocket_messages_over_the_body_limit_close_the_connection(
    user: Any, settings: Any
) -> None:
    token = token_for(user)
    variables = {"pad": "x" * settings.GRAPHQL_MAX_BODY_BYTES}

    async def run(url: str) -> int | None:
        client = await RawClient.connect(url)
        assert (await client.init(token))["type"] == "connection_ack"
        await client.subscribe("1", "{ me { id } }", variables)
        return await client.closed_with()

    with live_server() as server:
        assert asyncio.run(run(server.url)) == 1009
