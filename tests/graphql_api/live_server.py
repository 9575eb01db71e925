"""A real uvicorn serving ``config.asgi:application`` in a background thread, for WebSocket tests.

The thread shares the test process's settings, so it uses the test database (run the tests with
``django_db(transaction=True)`` so their rows are visible to it) and any settings override made
before the server starts.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import uvicorn
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from websockets.typing import Subprotocol

from config.local_servers import free_port, port_open
from devices.live import pubsub
from tests.web_process import procfile_command

T = TypeVar("T")

PROTOCOL = "graphql-transport-ws"


def procfile_ws() -> str:
    """The WebSocket implementation the Procfile gives uvicorn (``--ws``), as deployed."""
    words = procfile_command("web").split()
    return words[words.index("--ws") + 1] if "--ws" in words else "auto"


class LiveServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/graphql/"
        config = uvicorn.Config(
            "config.asgi:application",
            host="127.0.0.1",
            port=self.port,
            ws=procfile_ws(),
            lifespan="on",
            log_level="warning",
            # as the Procfile starts it: X-Forwarded-For only from the configured proxies
            forwarded_allow_ips=",".join(settings.FORWARDED_ALLOW_IPS),
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, name="uvicorn", daemon=True)

    def _run(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            try:
                await self.server.serve()
            finally:
                # Server-side database connections must not outlive the test database.
                await sync_to_async(connections.close_all)()

        asyncio.run(serve())

    def start(self) -> LiveServer:
        self.thread.start()
        for _ in range(200):
            if self.server.started and port_open("127.0.0.1", self.port, 0.2):
                return self
            threading.Event().wait(0.025)
        raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def call(self, fn: Callable[[], Coroutine[Any, Any, T]], timeout_s: float = 5.0) -> T:
        """Run a coroutine on the server's event loop (to look at its hub)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(timeout_s)

    def hub(self) -> pubsub.LiveHub | None:
        assert self.loop is not None
        return pubsub._hubs.get(self.loop)


@contextmanager
def live_server() -> Iterator[LiveServer]:
    server = LiveServer().start()
    try:
        yield server
    finally:
        server.stop()


class RawClient:
    """A bare graphql-transport-ws client over ``websockets``, for protocol-level checks."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        subprotocols: tuple[str, ...] = (PROTOCOL,),
        headers: dict[str, str] | None = None,
    ) -> RawClient:
        ws = await websockets.connect(
            url, subprotocols=[Subprotocol(p) for p in subprotocols], additional_headers=headers
        )
        return cls(ws)

    async def send(self, message: Any) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def recv(self, timeout_s: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout_s)
        value: dict[str, Any] = json.loads(raw)
        return value

    async def init(self, token: str | None) -> dict[str, Any]:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.recv()

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        await self.send(
            {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )

    async def closed_with(self, timeout_s: float = 8.0) -> int | None:
        """Wait for the server to close; the close code (messages before it are skipped)."""
        try:
            async with asyncio.timeout(timeout_s):
                async for _ in self.ws:
                    pass
        except websockets.ConnectionClosed:
            pass
        return self.ws.close_code  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.ws.close()
