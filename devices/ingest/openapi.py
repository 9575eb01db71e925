"""The device API's OpenAPI description, published at ``GET /api/v1/openapi.json``.

``docs/openapi.yaml`` is the one source: written by hand next to the views it describes, read
once per process and served as JSON.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson
import yaml
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from devices.ingest.http import method_not_allowed


def description_path() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "openapi.yaml"


@functools.cache
def description() -> dict[str, Any]:
    """The description as committed."""
    loaded: dict[str, Any] = yaml.safe_load(description_path().read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _description_json() -> bytes:
    return orjson.dumps(description())


async def openapi(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed("GET", "HEAD")
    return HttpResponse(_description_json(), content_type="application/json")
