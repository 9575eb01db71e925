"""GraphQL over HTTP as a plain ASGI app on strawberry's own view, without Django's handler.

Django's request handler costs a thread per request and sync hops for its request signals;
none of it is needed here. This app does what the lean API middleware did and the Django view
around strawberry's did, in the event loop:

- ``ALLOWED_HOSTS`` is enforced (400), a body longer than ``GRAPHQL_MAX_BODY_BYTES`` is refused
  before it is read (413, ``BODY_TOO_LARGE``), POST only (GET is 405 unless it asks for
  GraphiQL while ``DEBUG`` is on), answers carry ``Content-Length``, ``nosniff``, ``no-store``
  (and HSTS over HTTPS when ``SECURE_HSTS_SECONDS`` is set);
- the caller is the bearer token, verified once per token and process
  (:func:`accounts.tokens.access_token_verify`), whose user must still be active at every
  request (:mod:`accounts.access`); the client address comes from trusted proxies only;
- resolvers that touch the ORM run through ``sync_to_async`` (strawberry-django's sync
  resolvers included), and the database connections they used are given back after the
  response is sent, as Django does at the end of a request.

Error masking, document limits, metrics by operation and everything else the schema does
stay in the schema (:mod:`graphql_api.schema`), shared with the WebSocket app.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeGuard
from urllib.parse import parse_qsl

import orjson
from asgiref.sync import sync_to_async
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from cross_web.request._base import FormData, HTTPMethod, PathParams, QueryParams
from django.conf import settings
from django.db import close_old_connections
from django.db.backends.signals import connection_created
from django.http import HttpResponse
from django.http.cookie import parse_cookie
from graphql import GraphQLError
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from accounts.auth import claims_from_authorization, client_ip_from_headers, host_allowed
from accounts.tokens import InvalidToken
from asgi_io import BodyTooLarge, answer_headers, declared_length, read_body, request_headers
from graphql_api.context import REFRESH_COOKIE, Context, active_claims
from graphql_api.ide import graphiql_html

if TYPE_CHECKING:
    from strawberry.schema import BaseSchema


class HTTPRequest:
    """One ASGI HTTP request: its scope, lowercase headers and (once read) its body."""

    __slots__ = ("body", "headers", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.headers = request_headers(scope)
        self.body: bytes | None = None

    async def read_body(self, limit: int) -> bytes:
        """The whole body, or :class:`BodyTooLarge` as soon as it passes ``limit`` bytes."""
        if self.body is None:
            self.body = await read_body(self.receive, limit)
        return self.body


class Response:
    """What the app sends back: status, headers, a body (always with its length) and cookies
    (the refresh cookie: ``set_cookie`` and ``delete_cookie`` as on Django's responses)."""

    __slots__ = ("_cookies", "body", "content_type", "status")

    def __init__(self, body: bytes, status: int = 200, content_type: str = "application/json"):
        self.body = body
        self.status = status
        self.content_type = content_type
        self._cookies: HttpResponse | None = None

    def set_cookie(self, *args: Any, **kwargs: Any) -> None:
        self._cookie_jar().set_cookie(*args, **kwargs)

    def delete_cookie(self, *args: Any, **kwargs: Any) -> None:
        self._cookie_jar().delete_cookie(*args, **kwargs)

    def _cookie_jar(self) -> HttpResponse:
        if self._cookies is None:  # Django's cookie rules, made only when a cookie is set
            self._cookies = HttpResponse()
        return self._cookies

    def set_cookie_headers(self) -> list[tuple[bytes, bytes]]:
        if self._cookies is None:
            return []
        return [
            (b"set-cookie", morsel.output(header="").strip().encode("latin-1"))
            for morsel in self._cookies.cookies.values()
        ]

    def take_cookies(self, other: Response) -> None:
        self._cookies = other._cookies


class RequestAdapter(AsyncHTTPRequestAdapter):
    """strawberry's view of :class:`HTTPRequest` (JSON bodies only: no uploads, no forms)."""

    def __init__(self, request: HTTPRequest) -> None:
        self.request = request

    @property
    def method(self) -> HTTPMethod:
        method: HTTPMethod = self.request.scope["method"].upper()
        return method

    @property
    def query_params(self) -> QueryParams:
        return dict(parse_qsl(self.request.scope.get("query_string", b"").decode("latin-1")))

    @property
    def path_params(self) -> PathParams:
        return {}

    @property
    def headers(self) -> Mapping[str, str]:
        return self.request.headers

    @property
    def content_type(self) -> str | None:
        return self.request.headers.get("content-type")

    async def get_body(self) -> bytes:
        return await self.request.read_body(settings.GRAPHQL_MAX_BODY_BYTES)

    async def get_form_data(self) -> FormData:
        raise HTTPException(400, "Unsupported content type")

    @property
    def url(self) -> str:
        return str(self.request.scope["path"])

    @property
    def cookies(self) -> Mapping[str, str]:
        return {}  # never read: the API authenticates by the Authorization header only


def _error_body(message: str, code: str) -> bytes:
    return orjson.dumps(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    )


def body_too_large() -> Response:
    limit = settings.GRAPHQL_MAX_BODY_BYTES
    return Response(
        _error_body(
            f"The request body is longer than {limit} bytes; send a shorter one.", "BODY_TOO_LARGE"
        ),
        status=413,
    )


async def _release_connections() -> None:
    """What Django does at the end of a request, for the thread the ORM work ran in."""
    await sync_to_async(close_old_connections)()


#: What runs over plain HTTP: subscriptions need the WebSocket (graphql-transport-ws).
HTTP_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
USE_WEBSOCKET = GraphQLError(
    "Subscriptions are served over WebSocket only: open a WebSocket to this same path with the "
    "graphql-transport-ws protocol (for example with the graphql-ws client) and subscribe there.",
    extensions={"code": "USE_WEBSOCKET"},
)


class GraphQLHTTPApp(AsyncBaseHTTPView[HTTPRequest, Response, Response, Any, Any, Context, None]):
    """``/graphql/`` over HTTP: an ASGI app on strawberry's :class:`AsyncBaseHTTPView`."""

    request_adapter_class = RequestAdapter
    #: Set to False by tests that run requests inside their own database transaction (the
    #: connection then belongs to the test, which Django's test client leaves open too).
    release_connections = True

    def __init__(self, schema: BaseSchema) -> None:
        self.schema = schema
        # GraphiQL only while DEBUG is on, whatever the settings module says.
        self.graphql_ide = "graphiql" if settings.DEBUG and settings.GRAPHIQL else None
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        request = HTTPRequest(scope, receive)
        response = await self._respond(request)
        secure = scope.get("scheme") == "https"
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": self._headers(response, secure=secure),
            }
        )
        await send({"type": "http.response.body", "body": response.body})
        if self.release_connections and _orm_used():
            await _release_connections()

    async def _respond(self, request: HTTPRequest) -> Response:
        if not host_allowed(request.headers):
            return Response(b"Bad Request", status=400, content_type="text/plain")
        if declared_length(request.headers) > settings.GRAPHQL_MAX_BODY_BYTES:
            return body_too_large()
        method = request.scope["method"].upper()
        if method not in ("GET", "POST"):
            return Response(b"GraphQL only supports POST requests.", 405, "text/plain")
        if method == "GET" and not self.should_render_graphql_ide(RequestAdapter(request)):
            # POST only: queries never land in URLs and logs
            return Response(b"Send queries with POST.", 405, "text/plain")
        try:
            return await self.run(request)
        except BodyTooLarge:
            return body_too_large()
        except HTTPException as error:
            return Response(error.reason.encode(), error.status_code, "text/plain")

    @staticmethod
    def _headers(response: Response, *, secure: bool) -> list[tuple[bytes, bytes]]:
        headers = [(b"content-type", response.content_type.encode())]
        headers += answer_headers(len(response.body))
        if secure and settings.SECURE_HSTS_SECONDS:
            hsts = f"max-age={settings.SECURE_HSTS_SECONDS}".encode()
            headers.append((b"strict-transport-security", hsts))
        headers += response.set_cookie_headers()
        return headers

    # --- strawberry's hooks --------------------------------------------------------------------

    @property
    def allow_queries_via_get(self) -> bool:
        return False

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        try:  # JSON that orjson refuses but Python reads: lone surrogates in \u escapes, which
            # the schema's validators then refuse field by field
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as error:
            raise HTTPException(400, "Unable to parse request body as JSON") from error

    async def get_root_value(self, request: HTTPRequest) -> None:
        return None

    async def execute_single(  # strawberry's signature
        self,
        request: HTTPRequest,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Queries and mutations; a subscription is answered with where to send it instead.

        strawberry would run a subscription sent over plain HTTP as a query of its first event
        (and fail with a null for a non-null field); the dashboard, GraphiQL and every other
        client subscribe over the WebSocket at the same path.
        """
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=HTTP_OPERATIONS,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type is not OperationType.SUBSCRIPTION:
                raise HTTPException(400, error.as_http_error_reason("POST")) from error
            return ExecutionResult(data=None, errors=[USE_WEBSOCKET])
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from error
        except MissingQueryError as error:
            raise HTTPException(400, "No GraphQL query found in the request") from error

    async def get_sub_response(self, request: HTTPRequest) -> Response:
        return Response(b"")

    async def get_context(self, request: HTTPRequest, response: Response) -> Context:
        client = request.scope.get("client")
        address = client_ip_from_headers(
            peer=client[0] if client else None, headers=request.headers
        )
        context = Context(
            request=request,
            response=response,
            client_ip=address,
            refresh_cookie=_cookie(request.headers.get("cookie"), REFRESH_COOKIE),
        )
        try:
            claims = claims_from_authorization(request.headers.get("authorization"))
            if claims is not None:
                context.claims = await active_claims(claims)
        except InvalidToken as exc:
            context.auth_error = exc.reason
        return context

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = Response(self.encode_json(response_data), status=sub_response.status)
        response.take_cookies(sub_response)
        return response

    @property
    def graphql_ide_html(self) -> str:  # type: ignore[override]  # a property, as strawberry's
        return graphiql_html()

    async def render_graphql_ide(self, request: HTTPRequest) -> Response:
        return Response(self.graphql_ide_html.encode(), content_type="text/html; charset=utf-8")

    def is_websocket_request(self, request: Any) -> TypeGuard[Any]:
        return False

    async def pick_websocket_subprotocol(self, request: Any) -> str | None:
        raise NotImplementedError

    async def create_websocket_response(self, request: Any, subprotocol: str | None) -> Any:
        raise NotImplementedError

    def get_websocket_headers(self, request: Any) -> Mapping[str, str]:
        raise NotImplementedError

    async def reject_websocket(self, request: Any) -> Any:
        raise NotImplementedError


def _cookie(header: str | None, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header (Django's parsing), or None."""
    if not header or name not in header:
        return None
    return parse_cookie(header).get(name) or None


class _Opened:
    """Whether a request opened a database connection since connections were last released."""

    since_release = False


def _connection_opened(**_: Any) -> None:
    _Opened.since_release = True


# Sync resolvers run in asgiref's thread-sensitive thread, whose connections the event loop
# cannot see; Django announces each connection it opens, so the loop knows when to give them
# back (one thread hop), and requests that never touch the ORM skip it.
connection_created.connect(_connection_opened, dispatch_uid="graphql_api.http")


def _orm_used() -> bool:
    used = _Opened.since_release
    _Opened.since_release = False
    return used
