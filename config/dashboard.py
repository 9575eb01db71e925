"""The dashboard's built files (``web/dist``, committed) as a small ASGI app.

The page is served at ``/`` and its assets under ``ASSET_PREFIX``, as Vite's ``base`` builds
them. The files are few and small, so they are read once and served from memory with an ETag;
names carry no hash, so browsers revalidate (``no-cache``) and get a 304 while nothing changed.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

DIST = Path(__file__).resolve().parents[1] / "web" / "dist"
ASSET_PREFIX = "/static/dashboard/"
INDEX_PATHS = frozenset({"/", "/index.html"})
# The page talks to /graphql/ on its own origin only (HTTP and WebSocket).
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        b"style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
MISSING = b"The dashboard is not built: run `make web`.\n"


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: bytes


def _load(root: Path) -> dict[str, StaticFile]:
    files: dict[str, StaticFile] = {}
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        body = path.read_bytes()
        guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        content_type = f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed
        if path.suffix == ".js":
            content_type = "text/javascript; charset=utf-8"
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'.encode()
        files[path.relative_to(root).as_posix()] = StaticFile(body, content_type, etag)
    return files


class DashboardApp:
    """Serves ``index.html`` at ``/`` and the other built files under ``ASSET_PREFIX``."""

    def __init__(self, root: Path = DIST) -> None:
        self.files = _load(root)

    def handles(self, path: str) -> bool:
        return path in INDEX_PATHS or path.startswith(ASSET_PREFIX)

    def lookup(self, path: str) -> StaticFile | None:
        if path in INDEX_PATHS:
            return self.files.get("index.html")
        return self.files.get(path.removeprefix(ASSET_PREFIX))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _answer(
                send, 405, b"text/plain", b"Method not allowed.\n", [(b"allow", b"GET, HEAD")]
            )
            return
        found = self.lookup(scope["path"])
        if found is None:
            if not self.files:
                await _answer(send, 503, b"text/plain; charset=utf-8", MISSING)
            else:
                await _answer(send, 404, b"text/plain; charset=utf-8", b"Not found.\n")
            return
        headers = [(b"etag", found.etag), (b"cache-control", b"no-cache"), *SECURITY_HEADERS]
        requested = dict(scope.get("headers") or []).get(b"if-none-match")
        if requested is not None and found.etag in requested.replace(b" ", b"").split(b","):
            await _answer(send, 304, None, b"", headers)
            return
        body = b"" if method == "HEAD" else found.body
        await _answer(send, 200, found.content_type.encode(), body, headers, len(found.body))


async def _answer(
    send: Send,
    status: int,
    content_type: bytes | None,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    length: int | None = None,
) -> None:
    all_headers = list(headers or [])
    if content_type is not None:
        all_headers.append((b"content-type", content_type))
    if status != 304:
        all_headers.append(
            (b"content-length", str(len(body) if length is None else length).encode())
        )
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


dashboard_app = DashboardApp()
