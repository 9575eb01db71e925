"""Credentials that are not text PostgreSQL or the password hasher accept (NUL, lone
surrogates) get the ordinary answers, never "Unexpected error."."""

from typing import Any

import pytest

from accounts.models import User
from tests.accounts.test_auth_api import LOGIN, LOGOUT, PASSWORD, REFRESH, REGISTER, error_code
from tests.conftest import GraphQLClient

pytestmark = pytest.mark.django_db

GARBAGE = ["alice\x00", "alice\ud800", "\udfff"]


@pytest.mark.parametrize("username", GARBAGE)
def test_register_with_a_garbage_username_is_a_field_error(
    anon: GraphQLClient, username: str
) -> None:
    result = anon(REGISTER, {"username": username, "password": PASSWORD, "email": ""})
    assert "errors" not in result, result
    assert {m["field"] for m in result["data"]["register"]["messages"]} == {"username"}
    assert not User.objects.exists()


@pytest.mark.parametrize("password", [PASSWORD + "\x00", PASSWORD + "\ud800"])
def test_register_with_a_garbage_password_is_a_field_error(
    anon: GraphQLClient, password: str
) -> None:
    result = anon(REGISTER, {"username": "bob", "password": password, "email": ""})
    assert "errors" not in result, result
    assert {m["field"] for m in result["data"]["register"]["messages"]} == {"password"}
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("username", "password"),
    [*((name, PASSWORD) for name in GARBAGE), ("alice", PASSWORD + "\x00"), ("alice", "\ud800")],
)
def test_login_with_garbage_is_an_ordinary_failure(
    anon: GraphQLClient, user: Any, username: str, password: str
) -> None:
    result = anon(LOGIN, {"username": username, "password": password})
    assert result["data"] is None
    assert error_code(result) == "INVALID_CREDENTIALS"


@pytest.mark.parametrize("token", ["\x00", "abc\ud800"])
def test_refresh_and_logout_with_garbage_tokens(anon: GraphQLClient, token: str) -> None:
    refreshed = anon(REFRESH, {"token": token})
    assert error_code(refreshed) == "INVALID_REFRESH_TOKEN"
    assert anon(LOGOUT, {"token": token}) == {"data": {"logout": True}}  # as for any unknown token
