"""With DEBUG off, production behaviour whatever the settings module; with DEBUG on, debug
pages that show no credentials; and no suggestions that name the schema while introspection
is off."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.test import override_settings

from graphql_api.context import Context
from graphql_api.schema import Schema, build_schema, schema
from tests.web_process import procfile_web

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_SECRET = "redis-secret-0451"
MQTT_SECRET = "mqtt-secret-0452"
INTROSPECTION = "{ __schema { queryType { name } } }"

#: Each document below makes graphql-core suggest a name of the schema when it may.
PROBES: list[tuple[str, dict[str, Any], str]] = [
    ("{ hom { id } }", {}, "homes"),  # a field
    ("{ devices { edges { node { ... on Batery { id } } } } }", {}, "Battery"),  # a type
    ("{ devices(firs: 1) { totalCount } }", {}, "first"),  # an argument
    ("{ devices(kind: BATERY) { totalCount } }", {}, "BATTERY"),  # an enum value
    (  # an enum value in a variable (coerced at execution, not in validation)
        "query($k: DeviceKind) { devices(kind: $k) { totalCount } }",
        {"k": "BATERY"},
        "BATTERY",
    ),
    (  # an input field
        'mutation { createHome(input: {name: "x", latitude: 1, longitude: 1, timezone: "UTC", '
        "baseLoad: 1}) { ... on Home { id } } }",
        {},
        "baseLoadW",
    ),
]


def messages(checked: Schema, query: str, variables: dict[str, Any]) -> list[str]:
    async def run() -> list[str]:
        result = await checked.execute(
            query, variable_values=variables, context_value=Context(request=None, response=None)
        )
        return [error.message for error in result.errors or []]

    return asyncio.run(run())


@pytest.mark.parametrize(("query", "variables", "name"), PROBES)
def test_no_suggestions_while_introspection_is_off(
    query: str, variables: dict[str, Any], name: str
) -> None:
    said = " ".join(messages(schema, query, variables))
    assert said and "Did you mean" not in said and f"'{name}'" not in said, said


@pytest.mark.parametrize(("query", "variables", "name"), PROBES)
def test_suggestions_while_debugging(query: str, variables: dict[str, Any], name: str) -> None:
    with override_settings(DEBUG=True, GRAPHQL_INTROSPECTION=True):
        debugging = build_schema()
    said = " ".join(messages(debugging, query, variables))
    assert "Did you mean" in said and f"'{name}'" in said, said


def test_introspection_needs_debug_whatever_the_setting_says() -> None:
    with override_settings(DEBUG=False, GRAPHQL_INTROSPECTION=True):
        production = build_schema()
    said = messages(production, INTROSPECTION, {})
    assert said and all("introspection" in message.lower() for message in said), said
    with override_settings(DEBUG=True, GRAPHQL_INTROSPECTION=True):
        debugging = build_schema()
    assert messages(debugging, INTROSPECTION, {}) == []


# --- the web process under the local settings ------------------------------------------------


@pytest.fixture
def local_without_debug() -> Iterator[str]:
    """`make run`'s settings with DEBUG=false, asking for introspection and GraphiQL anyway."""
    with procfile_web(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DEBUG="false",
        GRAPHQL_INTROSPECTION="true",
        GRAPHIQL="true",
    ) as url:
        yield url


@pytest.fixture
def local_with_debug() -> Iterator[str]:
    """`make run`'s settings with DEBUG on and credentials in the Redis and MQTT URLs."""
    with procfile_web(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DEBUG="true",
        REDIS_URL=f"redis://:{REDIS_SECRET}@127.0.0.1:6399/0",
        MQTT_URL=f"mqtt://bridge:{MQTT_SECRET}@127.0.0.1:1883",
    ) as url:
        yield url


def provocations(client: httpx.Client) -> dict[str, httpx.Response]:
    """The requests that answer an error page: bad Host, unknown paths, oversized bodies."""
    assert client.get("/admin/login/").status_code == 200  # the CSRF cookie, for the form
    big_form = {"username": "x" * (3 * 1024 * 1024)}  # over Django's 2.5 MB
    return {
        "bad host, admin": client.get("/admin/login/", headers={"Host": "evil.example"}),
        "bad host, api": client.post(
            "/graphql/", json={"query": "{ me { id } }"}, headers={"Host": "evil.example"}
        ),
        "unknown path": client.get("/no/such/page/"),
        "unknown api path": client.get("/api/v1/no-such-endpoint"),
        "oversized form": client.post("/admin/login/", data=big_form),  # read by the CSRF check
        "oversized graphql": client.post("/graphql/", json={"query": "#" * 3_000_000}),
    }


def test_local_settings_without_debug_behave_as_production(local_without_debug: str) -> None:
    with httpx.Client(base_url=local_without_debug, timeout=20) as client:
        ide = client.get("/graphql/", headers={"Accept": "text/html"})
        assert ide.status_code != 200 and "graphiql" not in ide.text.lower()
        introspection = client.post("/graphql/", json={"query": INTROSPECTION}).json()
        assert "introspection" in introspection["errors"][0]["message"].lower()
        typo = client.post("/graphql/", json={"query": "{ hom { id } }"}).json()
        assert "Did you mean" not in typo["errors"][0]["message"]
        for name, response in provocations(client).items():
            assert response.status_code in (400, 404, 413), name
            assert "Traceback" not in response.text and "DEBUG" not in response.text, name


def test_debug_pages_show_no_credentials(local_with_debug: str) -> None:
    with httpx.Client(base_url=local_with_debug, timeout=20) as client:
        # DEBUG is on indeed: GraphiQL, introspection and Django's debug pages
        ide = client.get("/graphql/", headers={"Accept": "text/html"})
        assert ide.status_code == 200 and "graphiql" in ide.text.lower()
        assert "errors" not in client.post("/graphql/", json={"query": INTROSPECTION}).json()
        answers = provocations(client)
        assert "DisallowedHost" in answers["bad host, admin"].text  # the debug page
        assert "REDIS_URL" in answers["bad host, admin"].text  # with its settings, cleansed
        for name, response in answers.items():
            assert REDIS_SECRET not in response.text, name
            assert MQTT_SECRET not in response.text, name
            assert "127.0.0.1:6399" not in response.text, name  # the Redis URL, at all
