"""graphql-transport-ws at the wire: every close code, provoked by a raw ``websockets`` client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import websockets
from websockets.typing import Subprotocol

from devices.live import channels, keys, store
from graphql_api import websocket as ws_module
from tests import live_values
from tests.conftest import token_for
from tests.devices.factories import HomeFactory
from tests.graphql_api.live_server import LiveServer, RawClient, live_server

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIPTION = "subscription($homeId: ID) { energyStats(homeId: $homeId) { productionW } }"
Scenario = Callable[[RawClient], Awaitable[None]]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.setattr(ws_module, "CONNECTION_INIT_WAIT_TIMEOUT", timedelta(seconds=0.5))
    with live_server() as running:
        yield running


def close_code(server: LiveServer, scenario: Scenario) -> int | None:
    async def run() -> int | None:
        client = await RawClient.connect(server.url)
        assert client.ws.subprotocol == "graphql-transport-ws"
        await scenario(client)
        return await client.closed_with()

    return asyncio.run(run())


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        b"\x00binary",
        "[]",
        '"connection_init"',
        {"payload": {}},
        {"type": 3},
        {"type": "no_such_type"},
        {"type": "connection_init", "payload": "token"},
        {"type": "connection_init", "payload": []},
    ],
    ids=repr,
)
def test_malformed_message_closes_4400(server: LiveServer, message: Any) -> None:
    assert close_code(server, lambda client: client.send(message)) == 4400


@pytest.mark.parametrize(
    "subscribe",
    [
        {"type": "subscribe", "payload": {"query": SUBSCRIPTION}},
        {"type": "subscribe", "id": 1, "payload": {"query": SUBSCRIPTION}},
        {"type": "subscribe", "id": ["1"], "payload": {"query": SUBSCRIPTION}},
        {"type": "subscribe", "id": "1"},
        {"type": "subscribe", "id": "1", "payload": {}},
        {"type": "subscribe", "id": "1", "payload": {"query": 42}},
        {"type": "subscribe", "id": "1", "payload": {"query": SUBSCRIPTION, "variables": []}},
        {"type": "subscribe", "id": "1", "payload": {"query": "subscription {"}},
        {"type": "complete"},
    ],
    ids=repr,
)
def test_malformed_subscribe_after_ack_closes_4400(
    server: LiveServer, user: Any, subscribe: dict[str, Any]
) -> None:
    token = token_for(user)

    async def scenario(client: RawClient) -> None:
        assert (await client.init(token))["type"] == "connection_ack"
        await client.send(subscribe)

    assert close_code(server, scenario) == 4400


def test_subscribe_before_ack_closes_4401(server: LiveServer) -> None:
    async def scenario(client: RawClient) -> None:
        await client.subscribe("1", SUBSCRIPTION)

    assert close_code(server, scenario) == 4401


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": 42},
        {"token": "anything"},
    ],
    ids=repr,
)
def test_connection_init_without_valid_token_closes_4403(
    server: LiveServer, payload: dict[str, Any] | None
) -> None:
    async def scenario(client: RawClient) -> None:
        await client.send({"type": "connection_init", "payload": payload})

    assert close_code(server, scenario) == 4403


def test_expired_token_closes_4403(server: LiveServer, user: Any, settings: Any) -> None:
    settings.JWT_ACCESS_TOKEN_LIFETIME = timedelta(seconds=-60)
    token = token_for(user)

    async def scenario(client: RawClient) -> None:
        payload = {"authorization": f"Bearer {token}"}
        await client.send({"type": "connection_init", "payload": payload})

    assert close_code(server, scenario) == 4403


def test_lowercase_authorization_key_is_accepted(server: LiveServer, user: Any) -> None:
    token = token_for(user)

    async def run() -> dict[str, Any]:
        client = await RawClient.connect(server.url)
        await client.send(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        reply = await client.recv()
        await client.close()
        return reply

    assert asyncio.run(run()) == {"type": "connection_ack"}


def test_no_connection_init_in_time_closes_4408(server: LiveServer) -> None:
    async def scenario(client: RawClient) -> None:
        await client.send({"type": "ping"})  # pings do not count as initialisation
        assert await client.recv() == {"type": "pong"}

    assert close_code(server, scenario) == 4408


def test_duplicate_subscription_id_closes_4409(server: LiveServer, user: Any) -> None:
    home = HomeFactory(owner=user)
    token = token_for(user)

    async def scenario(client: RawClient) -> None:
        await client.init(token)
        await client.subscribe("same", SUBSCRIPTION, {"homeId": str(home.pk)})
        assert (await client.recv())["type"] == "next"
        await client.subscribe("same", SUBSCRIPTION, {"homeId": str(home.pk)})

    assert close_code(server, scenario) == 4409


@pytest.mark.parametrize("second_payload", [{}, None, "junk"], ids=repr)
def test_second_connection_init_closes_4429(
    server: LiveServer, user: Any, second_payload: Any
) -> None:
    token = token_for(user)

    async def scenario(client: RawClient) -> None:
        assert (await client.init(token))["type"] == "connection_ack"
        await client.send({"type": "connection_init", "payload": second_payload})

    assert close_code(server, scenario) == 4429


def test_legacy_graphql_ws_subprotocol_is_refused(server: LiveServer, user: Any) -> None:
    token = token_for(user)

    async def run() -> tuple[str | None, int | None]:
        ws = await websockets.connect(server.url, subprotocols=[Subprotocol("graphql-ws")])
        # the legacy protocol's start-without-init must get nothing
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send('{"type": "start", "id": "1", "payload": {"query": "{ __typename }"}}')
        client = RawClient(ws)
        return ws.subprotocol, await client.closed_with()

    subprotocol, code = asyncio.run(run())
    assert subprotocol is None
    assert code == 4406

    async def both() -> str | None:
        offered = ("graphql-ws", "graphql-transport-ws")
        client = await RawClient.connect(server.url, subprotocols=offered)
        assert (await client.init(token))["type"] == "connection_ack"
        await client.close()
        return client.ws.subprotocol  # type: ignore[no-any-return]

    assert asyncio.run(both()) == "graphql-transport-ws"


def test_ping_pong_complete_and_id_reuse(server: LiveServer, user: Any) -> None:
    home = HomeFactory(owner=user)
    token = token_for(user)
    variables = {"homeId": str(home.pk)}

    async def run() -> list[dict[str, Any]]:
        client = await RawClient.connect(server.url)
        seen = [await client.init(token)]
        await client.send({"type": "ping", "payload": {"at": 1}})
        seen.append(await client.recv())
        await client.send({"type": "pong"})  # unsolicited pongs are allowed
        await client.subscribe("a", SUBSCRIPTION, variables)
        seen.append(await client.recv())
        await client.send({"type": "complete", "id": "a"})
        await asyncio.sleep(0.1)
        value = {"production_w": 5.0, "ts": 1}
        live_values.write_many([(keys.home_stats_key(home.pk), value)])
        store.publish(channels.home_channel(home.pk), value)
        with pytest.raises(TimeoutError):
            await client.recv(timeout_s=0.3)  # completed: nothing more for "a"
        await client.subscribe("a", SUBSCRIPTION, variables)  # ids may be reused after complete
        seen.append(await client.recv())
        await client.close()
        return seen

    ack, pong, first, again = asyncio.run(run())
    assert ack == {"type": "connection_ack"}
    assert pong["type"] == "pong"
    assert first["type"] == "next" and first["id"] == "a"
    assert again["type"] == "next" and again["payload"]["data"]["energyStats"]["productionW"] == 5.0


def test_query_over_websocket_gets_next_then_complete(server: LiveServer, user: Any) -> None:
    token = token_for(user)

    async def run() -> list[dict[str, Any]]:
        client = await RawClient.connect(server.url)
        await client.init(token)
        await client.subscribe("q", "{ homes { id } }")
        replies = [await client.recv(), await client.recv()]
        await client.close()
        return replies

    reply, done = asyncio.run(run())
    assert reply == {"id": "q", "type": "next", "payload": {"data": {"homes": []}}}
    assert done == {"id": "q", "type": "complete"}
