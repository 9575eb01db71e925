"""A real HTTP server on a local port for the provider tests: each path answers as a test says.

Runs ``http.server.ThreadingHTTPServer`` in a thread; every request is recorded (path, query
and headers) so a test can see what a provider sent and how often it tried.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

Responder = Callable[["Handler"], None]


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Routes:
    responders: dict[str, list[Responder]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        routes = self.server.routes
        with routes.lock:
            routes.requests.append(
                Request(
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                )
            )
            queue = routes.responders.get(parts.path)
            # The last responder of a path answers every request after the ones before it.
            responder = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
        if responder is None:
            reply(404, b"no such path")(self)
            return
        # The client may give up (a size cap, a timeout): expected.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            responder(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: Routes


class LocalServer:
    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.routes = Routes()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[Request]:
        return self._server.routes.requests

    def requests_to(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def route(self, path: str, *responders: Responder) -> str:
        """Answer ``path`` with ``responders`` in turn (the last one from then on); its URL."""
        self._server.routes.responders[path] = list(responders)
        return self.base + path

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.routes.stop.set()
        self._server.shutdown()
        self._server.server_close()


def serve() -> Iterator[LocalServer]:
    server = LocalServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


def reply(
    status: int, body: bytes = b"", headers: Sequence[tuple[str, str]] = (), *, length: bool = True
) -> Responder:
    def respond(handler: Handler) -> None:
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        if length:
            handler.send_header("Content-Length", str(len(body)))
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def stall(seconds: float, then: Responder) -> Responder:
    """Say nothing for ``seconds`` (or until the server stops), then answer."""

    def respond(handler: Handler) -> None:
        if not handler.server.routes.stop.wait(seconds):
            then(handler)

    return respond


def trickle(chunk: bytes, count: int, every_s: float) -> Responder:
    """A 200 whose body arrives ``chunk`` by ``chunk``, one every ``every_s`` seconds."""

    def respond(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(chunk) * count))
        handler.end_headers()
        for _ in range(count):
            handler.wfile.write(chunk)
            handler.wfile.flush()
            if handler.server.routes.stop.wait(every_s):
                return

    return respond


def endless(chunk: bytes = b"[" * 65536, limit_bytes: int = 64 * 1024 * 1024) -> Responder:
    """A 200 without Content-Length that keeps sending ``chunk`` (up to ``limit_bytes``)."""

    def respond(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        sent = 0
        while sent < limit_bytes and not handler.server.routes.stop.is_set():
            handler.wfile.write(chunk)
            sent += len(chunk)

    return respond


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
