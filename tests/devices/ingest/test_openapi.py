"""The device API's description: served as committed, valid OpenAPI, and true to the routes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
import yaml
from django.test import Client
from django.urls import URLPattern

from devices.ingest import asgi as ingest_asgi
from devices.ingest import urls
from tests.asgi_client import Client as ASGIClient

pytestmark = pytest.mark.django_db

SPEC = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def committed() -> dict:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def routed_paths() -> set[str]:
    """The API's routes as OpenAPI paths (``<str:command_id>`` -> ``{command_id}``): Django's
    and the telemetry endpoint served ahead of Django."""
    paths = {ingest_asgi.PATH.removeprefix("/api/v1")}
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name == "unknown":
            continue
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        paths.add("/" + route)
    return paths


def test_the_served_description_is_the_committed_one() -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == committed()


def test_the_description_is_valid_openapi() -> None:
    schema = schemathesis.openapi.from_path(SPEC)
    schema.validate()  # against the OpenAPI 3.1 schema; raises on any mistake
    assert committed()["openapi"].startswith("3.1")
    assert all(result.ok() for result in schema.get_all_operations())


def test_every_route_is_described_and_nothing_else() -> None:
    assert set(committed()["paths"]) == routed_paths()


@pytest.mark.parametrize("path", sorted(committed()["paths"]))
def test_other_methods_are_refused_naming_the_described_ones(path: str) -> None:
    described = {m.upper() for m in committed()["paths"][path] if m in METHODS}
    url = "/api/v1" + path.replace("{command_id}", "0b0e7a1e-2d9b-4f5e-8a53-1c1d2e3f4a5b")
    for method in ("put", "delete", "patch", "post", "get"):
        if method.upper() in described:
            continue
        if url == ingest_asgi.PATH:  # served ahead of Django, as the web process routes it
            response = ASGIClient().request(method.upper(), url)
        else:
            response = getattr(Client(), method)(url)
        assert response.status_code == 405, (method, response.content)
        assert response["Content-Type"] == "application/json"
        assert set(response["Allow"].split(", ")) - {"HEAD"} == described
        assert response.json()["error"]


@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1/nope", "/api/v1/commands/a%2Fb/ack"])
def test_an_unknown_path_answers_json(path: str) -> None:
    response = Client().post(path, data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "openapi.json" in response.json()["error"]
