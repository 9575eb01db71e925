"""GraphiQL from the project's own static files: no request leaves the machine.

Strawberry's page loads React, GraphiQL and its explorer plugin from a public CDN. The same
files, byte for byte, are vendored in ``graphql_api/static/graphiql/`` (see the README there);
the page is Strawberry's own with each CDN address replaced by the local one. The integrity
attributes stay, so the browser still checks every file against the digest Strawberry ships.
"""

import re
from functools import cache

from django.conf import settings
from strawberry.http.ides import get_graphql_ide_html

CDN = re.compile(r"https://unpkg\.com/(?P<path>[^\"'\s]+)")
VENDORED_PREFIX = "graphiql/"


def cdn_paths(html: str) -> list[str]:
    """The package paths (``graphiql@3.8.3/graphiql.min.js``) a page loads from the CDN."""
    return [match["path"] for match in CDN.finditer(html)]


@cache
def graphiql_html() -> str:
    """Strawberry's GraphiQL page, every CDN file served from ``STATIC_URL`` instead."""
    prefix = f"{settings.STATIC_URL.rstrip('/')}/{VENDORED_PREFIX}"
    if not prefix.startswith(("/", "http")):
        prefix = "/" + prefix
    return CDN.sub(lambda match: prefix + match["path"], get_graphql_ide_html("graphiql"))
