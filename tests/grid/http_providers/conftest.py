from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.grid.http_providers.server import LocalServer, serve


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """A real HTTP server on a local port; routes set by the test."""
    yield from serve()
