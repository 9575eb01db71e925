"""ASGI entry point, served by uvicorn: GraphQL over HTTP (:mod:`graphql_api.http`) and
subscriptions over WebSocket (``graphql-transport-ws`` only, :mod:`graphql_api.websocket`), both
on ``/graphql/`` and both straight on strawberry's view, without Django's request handler;
``POST /api/v1/telemetry`` (:mod:`devices.ingest.asgi`); ``/healthz``, ``/readyz`` and
``/metrics`` (:mod:`monitoring.http`); Django for the rest (the devices' command endpoints with
the lean API middleware, the admin with the full stack). Every request gets
a request id and HTTP requests are timed by route."""

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django_application = get_asgi_application()  # sets Django up before the imports below

from django.conf import settings  # noqa: E402

from config.cors import allowed_origins, cross_origin  # noqa: E402
from config.dashboard import dashboard_app  # noqa: E402
from devices.ingest import asgi as ingest_asgi  # noqa: E402
from devices.live.pubsub import close_hub  # noqa: E402
from graphql_api.http import GraphQLHTTPApp  # noqa: E402
from graphql_api.schema import schema  # noqa: E402
from graphql_api.websocket import GraphQLWebSocketApp  # noqa: E402
from monitoring import http as monitoring_http  # noqa: E402
from monitoring import metrics  # noqa: E402

GC_GEN0_THRESHOLD = 20_000
GRAPHQL_PATHS = frozenset({"/graphql/", "/graphql"})
GRAPHQL_ROUTE = "graphql/"
# Key-authenticated endpoints; everything else (the admin) keeps Django's full stack.
API_PATH_PREFIXES = ("/api/",)
graphql_http_app = GraphQLHTTPApp(schema)
graphql_http = cross_origin(graphql_http_app)  # CORS for listed origins (config/cors.py)
graphql_websocket = GraphQLWebSocketApp(schema, allowed_origins=allowed_origins())


@contextmanager
def _middleware(paths: list[str]) -> Iterator[None]:
    original = settings.MIDDLEWARE
    settings.MIDDLEWARE = paths
    try:
        yield
    finally:
        settings.MIDDLEWARE = original


class APIHandler(ASGIHandler):
    """Django for the API paths: the same URLs and views, with ``API_MIDDLEWARE`` only."""

    def load_middleware(self, is_async: bool = False) -> None:
        with _middleware(settings.API_MIDDLEWARE):
            super().load_middleware(is_async)


api_application = APIHandler()


async def lifespan(receive: Any, send: Any) -> None:
    """Close the process's live-state hub (its Redis pub/sub connection) on shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            # Everything loaded so far lives as long as the process: keep it out of the cyclic
            # collector's scans, and collect the young generation less often. Thousands of
            # long-lived WebSocket connections otherwise make each full collection a pause.
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await close_hub()
            metrics.process_exiting()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def route(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        if scope["path"] in GRAPHQL_PATHS:
            await graphql_http(scope, receive, send)
        elif dashboard_app.handles(scope["path"]):
            await dashboard_app(scope, receive, send)
        elif scope["path"] == ingest_asgi.PATH:
            await ingest_asgi.telemetry(scope, receive, send)
        elif scope["path"] in monitoring_http.PATHS:
            await monitoring_http.endpoints(scope, receive, send)
        elif scope["path"].startswith(API_PATH_PREFIXES):
            await api_application(scope, receive, send)
        else:
            await django_application(scope, receive, send)
    elif scope["type"] == "websocket":
        if scope["path"] in GRAPHQL_PATHS:
            await graphql_websocket(scope, receive, send)
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1000})  # refused: 403
    elif scope["type"] == "lifespan":
        await lifespan(receive, send)


application = monitoring_http.instrumented(
    route,
    routes={**dict.fromkeys(GRAPHQL_PATHS, GRAPHQL_ROUTE), ingest_asgi.PATH: "api/v1/telemetry"},
)
