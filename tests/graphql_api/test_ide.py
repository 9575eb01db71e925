"""GraphiQL is served from the project's own static files, byte for byte what the CDN has."""

import base64
import hashlib
import re
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

from graphql_api.ide import VENDORED_PREFIX, cdn_paths, graphiql_html

STATIC = Path(__file__).resolve().parents[2] / "graphql_api" / "static"
INTEGRITY = re.compile(r'(?:src|href)="([^"]+)"\s+integrity="sha384-([^"]+)"')


def test_the_page_names_no_address_outside_the_server() -> None:
    html = graphiql_html()

    assert "unpkg.com" not in html
    assert not re.search(r'(?:src|href)="https?://', html)


def test_every_file_strawberrys_page_loads_is_vendored_with_its_published_digest() -> None:
    paths = cdn_paths(get_graphql_ide_html("graphiql"))
    assert paths, "Strawberry's page names no CDN files: the rewrite has nothing to do"
    for url, digest in INTEGRITY.findall(graphiql_html()):
        path = url.split(f"/{VENDORED_PREFIX}", 1)[1]
        assert path in paths
        content = (STATIC / "graphiql" / path).read_bytes()
        assert base64.b64encode(hashlib.sha384(content).digest()).decode() == digest, path
    assert len(INTEGRITY.findall(graphiql_html())) == len(paths)
