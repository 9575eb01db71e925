"""GraphQL subscriptions over WebSocket: ``graphql-transport-ws`` only, JWT in ``connection_init``.

The legacy ``graphql-ws`` subprotocol is never negotiated (it let a client skip
``connection_init``: CVE-2026-35526); a client offering only that is closed with 4406.
Close codes follow the protocol: 4400 malformed message, 4401 subscribe before ack, 4403
``connection_init`` refused (missing, invalid or expired token), token expiry during the
connection and its user deactivated or deleted while it is open (seen within
``ACCESS_RECHECK_S``), 4408 no ``connection_init`` in time, 4409 duplicate operation id, 4429 a
second ``connection_init``; and, from the WebSocket protocol itself, 1009 for a message longer than
``GRAPHQL_MAX_BODY_BYTES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeGuard

import orjson
from django.conf import settings
from graphql import FieldNode, GraphQLError, GraphQLSyntaxError, OperationType, get_operation_ast
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.async_base_view import AsyncBaseHTTPView, AsyncWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.unset import UNSET, UnsetType

from accounts.access import user_may_call
from accounts.auth import claims_from_connection_params, client_ip_from_headers
from accounts.tokens import InvalidToken
from devices.live.pubsub import FOLLOW_ALL, FollowMode
from graphql_api.context import Context, active_claims
from graphql_api.documents import DocumentRefused
from graphql_api.feeds import FeedKey, Member, feed_key, feeds, next_payload
from graphql_api.live.subscriptions import QUEUED_FIELDS
from monitoring import metrics

if TYPE_CHECKING:
    from strawberry.schema import BaseSchema

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

logger = logging.getLogger(__name__)

CONNECTION_INIT_WAIT_TIMEOUT = timedelta(seconds=5)
MAX_SUBSCRIPTIONS_PER_CONNECTION = 50
TOKEN_EXPIRED_CODE = 4403
#: RFC 6455: a message over GRAPHQL_MAX_BODY_BYTES, the same limit as an HTTP request's body.
MESSAGE_TOO_BIG_CODE = 1009
#: A subscriber's own execution gives its current value only; the changes come from a feed.
OWN_VALUE = FollowMode(changes=False)


def _optional_object(message: Mapping[str, Any], key: str) -> bool:
    return message.get(key) is None or isinstance(message[key], dict)


def _optional_str(message: Mapping[str, Any], key: str) -> bool:
    return message.get(key) is None or isinstance(message[key], str)


def message_is_valid(message: object) -> bool:
    """Whether ``message`` has the shape the protocol gives its type (unknown types pass on)."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return False
    kind = message["type"]
    if kind in ("connection_init", "ping", "pong"):
        return _optional_object(message, "payload")
    if kind == "complete":
        return isinstance(message.get("id"), str) and bool(message["id"])
    if kind == "subscribe":
        payload = message.get("payload")
        return (
            isinstance(message.get("id"), str)
            and bool(message["id"])
            and isinstance(payload, dict)
            and isinstance(payload.get("query"), str)
            and _optional_object(payload, "variables")
            and _optional_str(payload, "operationName")
            and _optional_object(payload, "extensions")
        )
    return True


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's handler, stricter where it departs from the protocol text.

    - A message that is JSON but not an object of the right shape (``[]``, a subscribe without
      a string ``id``) closes 4400; strawberry would raise and drop the connection uncleanly.
    - ``connection_init`` with ``"payload": null`` is valid (the payload is optional).
    - A second ``connection_init`` closes 4429 whatever its payload.
    - A subscribe whose query does not parse closes 4400, and one over a document limit
      (``graphql_api/documents.py``) is answered with an ``error``: strawberry's streaming path
      would let the error of a parsing extension escape, log it and send a bare ``complete``.
    - A subscribe after the user was deactivated or deleted closes 4403, like an expired token.

    A subscription operation shares its execution (:mod:`graphql_api.feeds`): it joins the feed
    of its (document, operation name, variables, user), waits until that feed listens, sends
    its own current value from its own execution (which authorises it), then gets the feed's
    serialized payloads. Queries and mutations over the socket run on their own, as strawberry
    runs them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members: dict[str, Member] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def handle_message(self, message: Message) -> None:
        if (
            isinstance(message, dict)
            and message.get("type") == "connection_init"
            and self.connection_init_received
        ):
            await self.websocket.close(code=4429, reason="Too many initialisation requests")
            return
        if not message_is_valid(message):
            await self.handle_invalid_message("Invalid message")
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and message["id"] not in self.operations:
            claims = self.context.claims
            try:
                if claims is not None:
                    await active_claims(claims)
            except InvalidToken:
                await self.websocket.close(code=TOKEN_EXPIRED_CODE, reason="Token refused")
                return
            documents = getattr(self.schema, "documents", None)
            # Thousands of subscribers send the same document: keep one copy of its text.
            message["payload"]["query"] = sys.intern(message["payload"]["query"])
            try:
                if documents is not None:
                    documents.prepare(message["payload"]["query"])
            except GraphQLSyntaxError as error:
                await self.handle_invalid_message(error.message)
                return
            except DocumentRefused as error:
                await self.send_error(message["id"], error)
                return
        await super().handle_subscribe(message)

    def _shared(self, operation: Operation[Context, None]) -> tuple[FeedKey, int] | None:
        """The feed key and member capacity of a subscription operation; None for any other."""
        claims = self.context.claims
        documents = getattr(self.schema, "documents", None)
        if claims is None or documents is None:
            return None
        try:
            document = documents.prepare(operation.query).document
        except GraphQLError:
            return None
        definition = get_operation_ast(document, operation.operation_name)
        if definition is None or definition.operation is not OperationType.SUBSCRIPTION:
            return None
        capacity = 1
        for selection in definition.selection_set.selections:
            if isinstance(selection, FieldNode):
                capacity = max(capacity, QUEUED_FIELDS.get(selection.name.value, 1))
            else:  # a fragment: whatever it selects
                capacity = max(capacity, *QUEUED_FIELDS.values())
        key = feed_key(
            operation.query, operation.operation_name, operation.variables, claims.user_id
        )
        return key, capacity

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        shared = self._shared(operation)
        if shared is None:
            await super().run_operation(operation)
            return
        key, capacity = shared
        member = Member(
            operation.id,
            capacity=capacity,
            send=self.websocket.send_next_text,  # type: ignore[attr-defined]
            on_feed_end=functools.partial(self._feed_ended, operation.id),
        )
        self.members[operation.id] = member
        registry = feeds()
        feed = registry.join(key, member, stream=functools.partial(self._feed_stream, operation))
        try:
            await feed.listening()
            sent = await self._send_own_value(operation, member)
        except _OperationStreamClosed:
            sent = False
        except Exception as error:  # pragma: no cover - as strawberry's own operation task
            self._leave(operation.id)
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise
        if not sent:  # refused: its error was sent (or the connection closed)
            self._leave(operation.id)
        elif member.feed is None:  # the shared stream ended meanwhile
            self._leave(operation.id)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        else:
            member.start()

    async def _feed_stream(
        self, operation: Operation[Context, None], listening: Callable[[], None]
    ) -> AsyncIterator[Any]:
        """The shared stream of ``operation``, run with a context of the caller's id only."""
        context = WebSocketContext(
            request=None,
            response=None,
            claims=self.context.claims,
            client_ip=self.context.client_ip,
            follow=FollowMode(initial=False, listening=listening),
        )
        return await self.schema.stream(  # type: ignore[no-any-return]
            operation.query,
            variable_values=operation.variables,
            context_value=context,
            root_value=self.root_value,
            operation_name=operation.operation_name,
        )

    async def _send_own_value(self, operation: Operation[Context, None], member: Member) -> bool:
        """Run ``operation`` for its current value alone; False if it was refused."""
        assert isinstance(self.context, WebSocketContext)
        context = dataclasses.replace(self.context, follow=OWN_VALUE)
        results = await self.schema.stream(
            operation.query,
            variable_values=operation.variables,
            context_value=context,
            root_value=self.root_value,
            operation_name=operation.operation_name,
        )
        async with contextlib.aclosing(results):  # type: ignore[type-var]
            first = True
            async for result in results:
                if first and isinstance(result, PreExecutionError):
                    await self._handle_pre_execution_error(operation, result)
                    return False
                if not isinstance(result, ExecutionResult):
                    await self._reject_incremental_delivery(operation)
                    return False
                first = False
                payload = next_payload(result)
                member.last = payload
                await self.websocket.send_next_text(member.frame(payload))  # type: ignore[attr-defined]
        return True

    def _leave(self, operation_id: str) -> None:
        member = self.members.pop(operation_id, None)
        if member is not None:
            feeds().leave(member)

    def _feed_ended(self, operation_id: str) -> None:
        self._leave(operation_id)
        operation = self.operations.get(operation_id)
        if operation is not None:
            complete = operation.send_operation_message({"id": operation_id, "type": "complete"})
            task = asyncio.get_running_loop().create_task(complete)  # type: ignore[arg-type]
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def cleanup_operation(self, operation_id: str) -> None:
        self._leave(operation_id)
        await super().cleanup_operation(operation_id)

    async def send_error(self, operation_id: str, error: GraphQLError) -> None:
        """End one operation with ``error`` before it starts (the connection stays open)."""
        await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if message.get("payload") is None:
            message = {"type": "connection_init", "payload": {}}
        await super().handle_connection_init(message)


@dataclass
class WebSocketContext(Context):
    connection: WebSocketConnection | None = None
    #: The timer that closes the connection at its token's expiry, or when its user no longer
    #: may call (checked every ``ACCESS_RECHECK_S``).
    watch: asyncio.TimerHandle | None = None
    #: What a subscription's execution gives: all of it, its current value, or the changes.
    follow: FollowMode = FOLLOW_ALL


class WebSocketConnection:
    """One ASGI WebSocket connection: the scope and the two channels, nothing else."""

    __slots__ = ("closed", "receive", "scope", "send")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.closed = False

    async def accept(self, subprotocol: str | None) -> None:
        await self.send({"type": "websocket.accept", "subprotocol": subprotocol})

    async def send_text(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self.send({"type": "websocket.send", "text": text})
        except OSError:  # the client went away; its disconnect ends the connection
            self.closed = True

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            await self.send({"type": "websocket.close", "code": code, "reason": reason})


class ASGIWebSocketAdapter(AsyncWebSocketAdapter):
    def __init__(
        self, view: AsyncBaseHTTPView, request: WebSocketConnection, response: WebSocketConnection
    ) -> None:
        super().__init__(view)
        self.connection = response

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        while True:
            message = await self.connection.receive()
            if message["type"] == "websocket.disconnect":
                self.connection.closed = True
                return
            if message["type"] != "websocket.receive":
                continue
            text = message.get("text")
            if text is None:
                raise NonTextMessageReceived
            if len(text) > settings.GRAPHQL_MAX_BODY_BYTES:  # as many bytes at least
                await self.connection.close(MESSAGE_TOO_BIG_CODE, "Message too big")
                return
            try:
                yield self.view.decode_json(text)
            except json.JSONDecodeError as error:
                if not ignore_parsing_errors:
                    raise NonJsonMessageReceived from error

    async def send_next_text(self, text: str) -> None:
        """Send a ``next`` message already serialized."""
        await self.connection.send_text(text)
        if not self.connection.closed:
            metrics.websocket_delivered()

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        text = encoded.decode() if isinstance(encoded, bytes) else encoded
        await self.connection.send_text(text)
        if message.get("type") == "next" and not self.connection.closed:
            metrics.websocket_delivered()

    async def close(self, code: int, reason: str) -> None:
        await self.connection.close(code, reason)


_WS = WebSocketConnection


class GraphQLWebSocketApp(AsyncBaseHTTPView[_WS, _WS, _WS, _WS, _WS, Context, None]):
    """An ASGI app for ``websocket`` scopes, straight on strawberry's protocol handler.

    Lighter than a Channels consumer (no per-connection queue and dispatch tasks): in the live
    benchmark it cut server memory per connection from ~53 to ~44-52 KiB at 5,000 connections.
    One instance serves every connection; a cross-origin browser handshake is refused (403)
    unless ``allowed_origins`` (``CORS_ALLOWED_ORIGINS``) lists the origin (strawberry's check).
    """

    websocket_adapter_class = ASGIWebSocketAdapter  # type: ignore[assignment]
    graphql_transport_ws_handler_class = TransportWSHandler
    protocols = (GRAPHQL_TRANSPORT_WS_PROTOCOL,)
    max_subscriptions_per_connection = MAX_SUBSCRIPTIONS_PER_CONNECTION
    graphql_ide = None

    def __init__(self, schema: BaseSchema, allowed_origins: Collection[str] = ()) -> None:
        self.schema = schema
        self.allowed_origins = frozenset(allowed_origins)
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        connection = WebSocketConnection(scope, receive, send)
        if (await receive())["type"] != "websocket.connect":
            return
        context = self._context(connection)
        self.connection_init_wait_timeout = CONNECTION_INIT_WAIT_TIMEOUT  # read late: tests tune it
        metrics.websocket_opened()
        try:
            await self.run(connection, context=context)
        finally:
            metrics.websocket_closed()
            if context.watch is not None:
                context.watch.cancel()

    @property
    def allow_queries_via_get(self) -> bool:
        return False

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # its error is a json.JSONDecodeError

    async def get_root_value(self, request: _WS) -> None:
        return None

    async def get_context(self, request: _WS, response: _WS) -> Context:
        return self._context(request)

    def _context(self, connection: WebSocketConnection) -> WebSocketContext:
        peer = connection.scope.get("client")
        address = client_ip_from_headers(
            peer=peer[0] if peer else None, headers=self.get_websocket_headers(connection)
        )
        return WebSocketContext(
            request=None, response=None, connection=connection, client_ip=address
        )

    async def get_sub_response(self, request: _WS) -> _WS:
        raise NotImplementedError

    def create_response(self, response_data: Any, sub_response: _WS) -> _WS:
        raise NotImplementedError

    async def render_graphql_ide(self, request: _WS) -> _WS:
        raise NotImplementedError

    def is_websocket_request(self, request: _WS) -> TypeGuard[_WS]:
        return True

    async def pick_websocket_subprotocol(self, request: _WS) -> str | None:
        # Some servers pass a repeated or comma-separated header through as one entry.
        offered = {
            name.strip()
            for entry in request.scope.get("subprotocols") or ()
            for name in entry.split(",")
        }
        return GRAPHQL_TRANSPORT_WS_PROTOCOL if GRAPHQL_TRANSPORT_WS_PROTOCOL in offered else None

    async def create_websocket_response(self, request: _WS, subprotocol: str | None) -> _WS:
        await request.accept(subprotocol)
        return request

    def get_websocket_headers(self, request: _WS) -> Mapping[str, str]:
        return {
            name.decode("latin1").lower(): value.decode("latin1")
            for name, value in request.scope["headers"]
        }

    async def reject_websocket(self, request: _WS) -> _WS:
        await request.close()  # before the accept: the handshake is refused with 403
        return request

    async def on_ws_connect(self, context: Context) -> UnsetType:
        assert isinstance(context, WebSocketContext) and context.connection is not None
        try:
            claims = await active_claims(claims_from_connection_params(context.connection_params))
        except InvalidToken:
            raise ConnectionRejectionError() from None
        remaining_s = (claims.expires_at - datetime.now(tz=UTC)).total_seconds()
        if remaining_s <= 0:  # accepted only thanks to the decoder's clock-skew leeway
            raise ConnectionRejectionError()
        context.claims = claims
        context.connection_params = None  # the token is verified: not kept for the connection
        _watch_later(context)
        return UNSET  # a plain `connection_ack`, no payload


#: How often an open connection asks whether its user may still call (one Redis GET, see
#: accounts/access.py): a deactivated or deleted user's streams end within this time.
ACCESS_RECHECK_S = 30.0
_watching: set[asyncio.Task[None]] = set()


def _watch_later(context: WebSocketContext) -> None:
    """Wake at the token's expiry or the next access check, whichever comes first.

    A timer, not a sleeping task: a task's frame would cost every connection memory.
    """
    assert context.claims is not None
    remaining_s = (context.claims.expires_at - datetime.now(tz=UTC)).total_seconds()
    context.watch = asyncio.get_running_loop().call_later(
        max(0.0, min(remaining_s, ACCESS_RECHECK_S)), _wake, context
    )


def _wake(context: WebSocketContext) -> None:
    task = asyncio.get_running_loop().create_task(_check(context))
    _watching.add(task)
    task.add_done_callback(_watching.discard)


async def _check(context: WebSocketContext) -> None:
    # 4403 makes graphql-ws clients reconnect, with a fresh token from connectionParams (a
    # retired user's new token is then refused at connection_init).
    assert context.claims is not None and context.connection is not None
    if datetime.now(tz=UTC) >= context.claims.expires_at:
        await context.connection.close(TOKEN_EXPIRED_CODE, "Token expired")
        return
    try:
        may_call = await user_may_call(user_id=context.claims.user_id)
    except Exception:  # the database unreachable: ask again at the next check
        logger.warning("access of user %s not checked", context.claims.user_id, exc_info=True)
        may_call = True
    if not may_call:
        await context.connection.close(TOKEN_EXPIRED_CODE, "Token refused")
    elif not context.connection.closed:
        _watch_later(context)
