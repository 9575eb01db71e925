"""Failed-login limits that parallel requests cannot overrun."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connections

from accounts import services
from accounts.throttle import LoginThrottled, Rate, rate_parse
from tests.accounts.factories import UserFactory

PASSWORD = "correct horse battery staple"

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
