"""Turn a ``DATABASE_URL`` into a psycopg connection string."""

from urllib.parse import unquote, urlsplit


def psycopg_conninfo(url: str, *, dbname: str | None = None) -> str:
    parts = urlsplit(url)
    fields = {
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "user": unquote(parts.username or "postgres"),
        "dbname": dbname or parts.path.lstrip("/") or "postgres",
    }
    if parts.password:
        fields["password"] = unquote(parts.password)
    return " ".join(f"{key}={value}" for key, value in fields.items())
