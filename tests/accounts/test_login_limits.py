"""Failed-login limits that parallel requests cannot overrun, keyed by addresses that a client
cannot choose: trusted proxies only, and the connection's own address over WebSocket."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connections

from accounts import services
from accounts.auth import client_address
from accounts.models import User
from accounts.throttle import LoginThrottled, Rate, rate_parse
from tests.accounts.factories import UserFactory
from tests.asgi_client import Client
from tests.conftest import GraphQLClient, token_for
from tests.graphql_api.live_server import RawClient, live_server
from tests.web_process import procfile_web

PASSWORD = "correct horse battery staple"
LOGIN = """
mutation Login($username: String!, $password: String!) {
  loginUser(username: $username, password: $password) { accessToken }
}"""


def code(result: dict[str, Any]) -> str:
    return str(result["errors"][0]["extensions"]["code"])


# --- the limit holds under concurrency --------------------------------------------------------


@contextmanager
def password_checks() -> Iterator[list[str]]:
    """The usernames of failed password checks, as Django's authenticate() reports them."""
    checked: list[str] = []
    lock = threading.Lock()

    def record(sender: Any, credentials: dict[str, Any], **_: Any) -> None:
        with lock:
            checked.append(credentials.get("username", ""))

    user_login_failed.connect(record, weak=False)
    try:
        yield checked
    finally:
        user_login_failed.disconnect(record)


def in_parallel(count: int, login: Callable[[int], Any]) -> list[str]:
    """``login(n)`` from ``count`` threads released at once: what each attempt got."""
    start = threading.Barrier(count)

    def attempt(n: int) -> str:
        start.wait()
        try:
            login(n)
        except ValidationError:
            return "wrong"
        except LoginThrottled:
            return "throttled"
        finally:
            connections.close_all()
        return "logged in"

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(attempt, range(count)))


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_check_at_most_the_limit(settings: Any) -> None:
    """The issue's probe: 25 of 40 parallel wrong passwords were checked against a limit of 5."""
    settings.LOGIN_FAILURE_RATE = "5/m"
    UserFactory(username="alice", password=PASSWORD)
    with password_checks() as checked:
        outcomes = in_parallel(
            40, lambda _: services.user_login(username="alice", password="x", client_ip="192.0.2.1")
        )
    assert len(checked) == 5
    assert sorted(outcomes) == ["throttled"] * 35 + ["wrong"] * 5
    # the limit stands afterwards, even for the right password
    with pytest.raises(LoginThrottled):
        services.user_login(username="alice", password=PASSWORD, client_ip="192.0.2.2")


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_from_one_address_check_at_most_the_limit(settings: Any) -> None:
    settings.LOGIN_FAILURE_RATE = "5/m"
    with password_checks() as checked:
        outcomes = in_parallel(
            30,
            lambda n: services.user_login(
                username=f"guess{n}", password="x", client_ip="192.0.2.9"
            ),
        )
    assert len(checked) == 5
    assert outcomes.count("wrong") == 5


@pytest.mark.django_db(transaction=True)
def test_parallel_right_passwords_all_get_in(settings: Any) -> None:
    """A successful login gives its slot back: the limit counts failures only."""
    settings.LOGIN_FAILURE_RATE = "5/m"
    UserFactory(username="alice", password=PASSWORD)
    outcomes = in_parallel(
        4, lambda _: services.user_login(username="alice", password=PASSWORD, client_ip="192.0.2.1")
    )
    assert outcomes == ["logged in"] * 4
    for _ in range(5):
        with pytest.raises(ValidationError):
            services.user_login(username="alice", password="wrong", client_ip="192.0.2.1")
    with pytest.raises(LoginThrottled):
        services.user_login(username="alice", password="wrong", client_ip="192.0.2.1")


@pytest.mark.django_db
def test_the_window_ends(settings: Any) -> None:
    settings.LOGIN_FAILURE_RATE = "2/1s"
    UserFactory(username="alice", password=PASSWORD)
    for _ in range(2):
        with pytest.raises(ValidationError):
            services.user_login(username="alice", password="wrong", client_ip="192.0.2.1")
    with pytest.raises(LoginThrottled) as throttled:
        services.user_login(username="alice", password=PASSWORD, client_ip="192.0.2.1")
    assert throttled.value.retry_after_s == 1
    time.sleep(1.1)
    assert services.user_login(username="alice", password=PASSWORD, client_ip="192.0.2.1")


def test_rates_read_like_django_ratelimit_ones() -> None:
    assert rate_parse("5/m") == Rate(limit=5, window_s=60)
    assert rate_parse("10/5m") == Rate(limit=10, window_s=300)
    assert rate_parse("100/h") == Rate(limit=100, window_s=3600)
    assert rate_parse("3/2s") == Rate(limit=3, window_s=2)
    for bad in ("5", "5/x", "0/m", "-1/m", "five/m"):
        with pytest.raises(ImproperlyConfigured, match="LOGIN_FAILURE_RATE"):
            rate_parse(bad)


# --- client addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "client"),
    [
        ([], "198.51.100.7", None, "198.51.100.7"),
        ([], "198.51.100.7", "203.0.113.1", "198.51.100.7"),  # nobody may forward
        (["10.0.0.0/8"], "10.0.0.2", "203.0.113.1", "203.0.113.1"),
        # the client prepends what it likes; the right-most untrusted hop is what the proxy saw
        (["10.0.0.0/8"], "10.0.0.2", "1.1.1.1, 2.2.2.2, 203.0.113.1", "203.0.113.1"),
        (["10.0.0.0/8"], "10.0.0.2", "1.1.1.1, 203.0.113.1, 10.0.0.9", "203.0.113.1"),
        (["10.0.0.0/8"], "198.51.100.7", "203.0.113.1", "198.51.100.7"),  # not from a proxy
        (["10.0.0.0/8"], "10.0.0.2", None, "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.2", "10.0.0.3, 10.0.0.4", "10.0.0.3"),  # proxies all along
        (["10.0.0.1", "2001:db8::/32"], "2001:db8::1", "203.0.113.1", "203.0.113.1"),
        (["10.0.0.0/8"], None, None, "unknown"),
    ],
)
def test_the_client_is_the_right_most_untrusted_hop(
    settings: Any, trusted: list[str], peer: str | None, forwarded: str | None, client: str
) -> None:
    settings.FORWARDED_ALLOW_IPS = trusted
    assert client_address(peer=peer, forwarded=forwarded) == client


@pytest.mark.django_db
def test_a_forwarding_header_counts_only_from_trusted_proxies(settings: Any) -> None:
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.0/8"]
    UserFactory(username="alice", password=PASSWORD)
    proxy = GraphQLClient(Client(REMOTE_ADDR="10.0.0.5"))
    for n in range(5):  # a different made-up address in front each time
        result = proxy(
            LOGIN,
            {"username": f"guess{n}", "password": "x"},
            X_Forwarded_For=f"192.0.2.{n}, 203.0.113.7",
        )
        assert code(result) == "INVALID_CREDENTIALS"
    again = {"username": "alice", "password": PASSWORD}
    assert code(proxy(LOGIN, again, X_Forwarded_For="192.0.2.99, 203.0.113.7")) == "RATE_LIMITED"
    # another client behind the proxy is not affected
    assert proxy(LOGIN, again, X_Forwarded_For="203.0.113.8")["data"]["loginUser"]
    # a direct caller cannot pretend to be that other client
    direct = GraphQLClient(Client(REMOTE_ADDR="198.51.100.1"))
    for n in range(5):
        result = direct(
            LOGIN, {"username": f"other{n}", "password": "x"}, X_Forwarded_For=f"198.18.0.{n}"
        )
        assert code(result) == "INVALID_CREDENTIALS"
    assert code(direct(LOGIN, again, X_Forwarded_For="203.0.113.9")) == "RATE_LIMITED"


def web_logins(url: str, forwarded_for: list[str]) -> list[str]:
    """Wrong passwords for distinct users, each claiming another address: the answers' codes."""
    with httpx.Client(base_url=url, timeout=20) as client:
        return [
            code(
                client.post(
                    "/graphql/",
                    json={"query": LOGIN, "variables": {"username": f"u{n}", "password": "x"}},
                    headers={"X-Forwarded-For": address},
                ).json()
            )
            for n, address in enumerate(forwarded_for)
        ]


@pytest.mark.django_db(transaction=True)
def test_the_web_process_trusts_no_proxy_by_default() -> None:
    """uvicorn trusted X-Forwarded-For from 127.0.0.1 unless told otherwise: every request
    from the same machine could claim a new address and a fresh limit."""
    addresses = [f"198.18.0.{n}" for n in range(6)]
    with procfile_web() as url:
        answers = web_logins(url, addresses)
    assert answers == ["INVALID_CREDENTIALS"] * 5 + ["RATE_LIMITED"]


@pytest.mark.django_db(transaction=True)
def test_the_web_process_trusts_the_configured_proxies() -> None:
    addresses = [f"198.18.0.{n}" for n in range(6)]
    with procfile_web(FORWARDED_ALLOW_IPS="127.0.0.1") as url:
        answers = web_logins(url, addresses)
    assert answers == ["INVALID_CREDENTIALS"] * 6


@pytest.mark.django_db(transaction=True)
def test_websocket_logins_count_against_the_connections_address(user: User) -> None:
    """Over WebSocket every login used to share one "unknown" address."""
    token = token_for(user)

    async def fail_five(url: str) -> list[str]:
        # a header naming another address: the connection does not come from a proxy
        client = await RawClient.connect(url, headers={"X-Forwarded-For": "198.18.0.1"})
        assert (await client.init(token))["type"] == "connection_ack"
        codes = []
        for n in range(5):
            await client.subscribe(str(n), LOGIN, {"username": f"ws{n}", "password": "x"})
            reply = await client.recv()
            codes.append(reply["payload"]["errors"][0]["extensions"]["code"])
            assert (await client.recv())["type"] == "complete"
        await client.close()
        return codes

    with live_server() as server:
        assert asyncio.run(fail_five(server.url)) == ["INVALID_CREDENTIALS"] * 5
    # the five failures counted against 127.0.0.1, the connection's address
    again = {"username": user.username, "password": PASSWORD}
    assert code(GraphQLClient(Client(REMOTE_ADDR="127.0.0.1"))(LOGIN, again)) == "RATE_LIMITED"
    assert GraphQLClient(Client(REMOTE_ADDR="198.18.0.1"))(LOGIN, again)["data"]["loginUser"]
