"""Small helpers for Redis URLs, shared by settings and the launchers."""

import re
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured


def redis_url_with_db(url: str, db: int) -> str:
    """Return ``url`` pointing at database ``db`` of the same server."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("db="))
        query = f"{query}&db={db}" if query else f"db={db}"
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def redis_host_port(url: str) -> tuple[str, int]:
    """Return the TCP host and port of a ``redis://`` URL."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 6379


def redis_key_prefix(value: str) -> str:
    """Check a ``REDIS_KEY_PREFIX``: a name ending in ``:`` (so no deployment's names can run
    into another's), without spaces or wildcards."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)*:", value):
        raise ImproperlyConfigured(
            f"REDIS_KEY_PREFIX must be letters, digits, '_', '.', '-' ending in ':' "
            f"(e.g. 'gridtwin:' or 'gridtwin-staging:'), not {value!r}."
        )
    return value
