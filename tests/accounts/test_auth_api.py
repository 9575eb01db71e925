"""Registration, login, refresh rotation with reuse detection, logout, and throttling."""

import io
from typing import Any

import pytest

from accounts.models import RefreshToken, User
from accounts.tokens import access_token_decode
from tests.asgi_client import Client
from tests.conftest import GraphQLClient

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"

REGISTER = """
mutation Register($username: String!, $password: String!, $email: String!) {
  register(username: $username, password: $password, email: $email) {
    ... on User { id username email }
    ... on OperationInfo { messages { field message kind code } }
  }
}"""
LOGIN = """
mutation Login($username: String!, $password: String!) {
  loginUser(username: $username, password: $password) {
    accessToken refreshToken expiresIn user { id username }
  }
}"""
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken expiresIn }
}"""
LOGOUT = "mutation Logout($token: String!) { logout(refreshToken: $token) }"
ME = "{ me { id username } }"


def login(anon: GraphQLClient, username: str = "alice", password: str = PASSWORD) -> dict[str, Any]:
    return anon(LOGIN, {"username": username, "password": password})


def error_code(result: dict[str, Any]) -> str:
    return str(result["errors"][0]["extensions"]["code"])


def test_register_hashes_password_with_argon2(anon: GraphQLClient) -> None:
    result = anon(REGISTER, {"username": "bob", "password": PASSWORD, "email": "bob@example.org"})
    assert result["data"]["register"]["username"] == "bob"
    user = User.objects.get(username="bob")
    assert user.password.startswith("argon2") or user.password.startswith("md5")
    assert user.check_password(PASSWORD)


def test_register_rejects_weak_password_and_taken_name(anon: GraphQLClient, user: User) -> None:
    weak = anon(REGISTER, {"username": "carol", "password": "123", "email": ""})
    fields = {m["field"] for m in weak["data"]["register"]["messages"]}
    assert fields == {"password"}
    taken = anon(REGISTER, {"username": "alice", "password": PASSWORD, "email": ""})
    assert {m["field"] for m in taken["data"]["register"]["messages"]} == {"username"}
    bad_email = anon(REGISTER, {"username": "dave", "password": PASSWORD, "email": "nope"})
    assert {m["field"] for m in bad_email["data"]["register"]["messages"]} == {"email"}
    assert not User.objects.filter(username__in=["carol", "dave"]).exists()


def test_login_returns_tokens_that_work(anon: GraphQLClient, user: User) -> None:
    payload = login(anon)["data"]["loginUser"]
    assert payload["user"]["username"] == "alice"
    assert payload["expiresIn"] == 900
    assert access_token_decode(payload["accessToken"]).user_id == user.pk
    me = GraphQLClient(Client(), payload["accessToken"])(ME)
    assert me["data"]["me"]["username"] == "alice"
    stored = RefreshToken.objects.get(user=user)
    assert payload["refreshToken"] not in stored.token_hash
    assert len(stored.token_hash) == 64


def test_login_failures_read_the_same(anon: GraphQLClient, user: User) -> None:
    wrong_password = login(anon, password="wrong")
    no_such_user = login(anon, username="nobody")
    assert wrong_password["errors"][0]["message"] == no_such_user["errors"][0]["message"]
    assert error_code(wrong_password) == error_code(no_such_user) == "INVALID_CREDENTIALS"
    assert wrong_password["data"] is None


def test_login_is_throttled_per_username(user: User) -> None:
    for n in range(5):
        # a different address each time: the username alone trips the limit
        client = GraphQLClient(Client(REMOTE_ADDR=f"10.0.0.{n}"))
        assert error_code(login(client, password="wrong")) == "INVALID_CREDENTIALS"
    client = GraphQLClient(Client(REMOTE_ADDR="10.0.0.99"))
    throttled = login(client)  # even the right password is refused now
    assert error_code(throttled) == "RATE_LIMITED"
    assert "Too many failed login attempts" in throttled["errors"][0]["message"]
    assert throttled["errors"][0]["extensions"]["retryAfter"] > 0


def test_login_is_throttled_per_address(user: User) -> None:
    client = GraphQLClient(Client(REMOTE_ADDR="192.0.2.7"))
    for n in range(5):
        assert (
            error_code(login(client, username=f"guess{n}", password="x")) == "INVALID_CREDENTIALS"
        )
    assert error_code(login(client)) == "RATE_LIMITED"
    # another address is unaffected
    assert "data" in login(GraphQLClient(Client(REMOTE_ADDR="192.0.2.8")))
    assert login(GraphQLClient(Client(REMOTE_ADDR="192.0.2.8")))["data"]["loginUser"]


def test_successful_logins_do_not_count(anon: GraphQLClient, user: User) -> None:
    for _ in range(8):
        assert login(anon)["data"]["loginUser"]["accessToken"]


def test_refresh_rotates_and_old_token_stops_working(anon: GraphQLClient, user: User) -> None:
    first = login(anon)["data"]["loginUser"]["refreshToken"]
    second = anon(REFRESH, {"token": first})["data"]["refreshToken"]
    assert second["refreshToken"] != first
    assert access_token_decode(second["accessToken"]).user_id == user.pk
    third = anon(REFRESH, {"token": second["refreshToken"]})["data"]["refreshToken"]
    assert third["refreshToken"] not in (first, second["refreshToken"])


def test_reuse_of_rotated_token_revokes_the_family(anon: GraphQLClient, user: User) -> None:
    stolen = login(anon)["data"]["loginUser"]["refreshToken"]
    legit = anon(REFRESH, {"token": stolen})["data"]["refreshToken"]["refreshToken"]
    replay = anon(REFRESH, {"token": stolen})
    assert error_code(replay) == "INVALID_REFRESH_TOKEN"
    # the legitimate holder's newer token is revoked too
    assert error_code(anon(REFRESH, {"token": legit})) == "INVALID_REFRESH_TOKEN"
    assert not RefreshToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_reuse_leaves_other_sessions_alone(anon: GraphQLClient, user: User) -> None:
    laptop = login(anon)["data"]["loginUser"]["refreshToken"]
    phone = login(anon)["data"]["loginUser"]["refreshToken"]
    anon(REFRESH, {"token": laptop})
    anon(REFRESH, {"token": laptop})  # reuse: laptop family revoked
    assert anon(REFRESH, {"token": phone})["data"]["refreshToken"]["accessToken"]


def test_logout_revokes(anon: GraphQLClient, user: User) -> None:
    token = login(anon)["data"]["loginUser"]["refreshToken"]
    assert anon(LOGOUT, {"token": token})["data"]["logout"] is True
    assert error_code(anon(REFRESH, {"token": token})) == "INVALID_REFRESH_TOKEN"
    # logging out twice, or an unknown token, is harmless
    assert anon(LOGOUT, {"token": token})["data"]["logout"] is True
    assert anon(LOGOUT, {"token": "unknown"})["data"]["logout"] is True


def test_expired_refresh_token_is_refused(anon: GraphQLClient, user: User, settings: Any) -> None:
    settings.JWT_REFRESH_TOKEN_LIFETIME = __import__("datetime").timedelta(seconds=-1)
    token = login(anon)["data"]["loginUser"]["refreshToken"]
    assert error_code(anon(REFRESH, {"token": token})) == "INVALID_REFRESH_TOKEN"


def test_unknown_refresh_token_is_refused(anon: GraphQLClient) -> None:
    assert error_code(anon(REFRESH, {"token": "made-up"})) == "INVALID_REFRESH_TOKEN"


def test_inactive_user_cannot_refresh(anon: GraphQLClient, user: User) -> None:
    token = login(anon)["data"]["loginUser"]["refreshToken"]
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert error_code(anon(REFRESH, {"token": token})) == "INVALID_REFRESH_TOKEN"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer not-a-jwt", "Invalid or expired token."),
        ("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "Invalid or expired token."),
        ("Basic YWxpY2U6cGFzcw==", "Authentication required."),
        ("Bearer ", "Authentication required."),
    ],
)
def test_bad_authorization_header_is_unauthenticated(header: str, message: str, user: User) -> None:
    result = GraphQLClient(Client())(ME, Authorization=header)
    assert error_code(result) == "UNAUTHENTICATED"
    assert result["errors"][0]["message"] == message


def test_no_token_is_unauthenticated(anon: GraphQLClient) -> None:
    result = anon(ME)
    assert error_code(result) == "UNAUTHENTICATED"
    assert result["errors"][0]["message"] == "Authentication required."


def test_token_of_a_deactivated_user_no_longer_reads_me(gql: GraphQLClient, user: User) -> None:
    assert gql(ME)["data"]["me"]["username"] == "alice"
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert error_code(gql(ME)) == "UNAUTHENTICATED"


def test_a_failing_login_never_logs_the_password(
    anon: GraphQLClient, user: User, caplog: pytest.LogCaptureFixture, console_log: io.StringIO
) -> None:
    """The failed login is logged (and its GraphQL error, with the document's line); the
    password is not, whether it came as a variable or inline in the document."""
    inline = (
        'mutation { loginUser(username: "alice", password: "inline-wrong-pw") { user { id } } }'
    )
    assert error_code(anon(inline)) == "INVALID_CREDENTIALS"
    assert error_code(login(anon, password="variable-wrong-pw")) == "INVALID_CREDENTIALS"
    for log in (caplog.text, console_log.getvalue()):
        assert log.count("login failed for 'alice'") == 2
        assert "inline-wrong-pw" not in log and "variable-wrong-pw" not in log


def test_refused_tokens_never_reach_the_log(
    anon: GraphQLClient, user: User, caplog: pytest.LogCaptureFixture, console_log: io.StringIO
) -> None:
    pair = login(anon)["data"]["loginUser"]
    assert anon(LOGOUT, {"token": pair["refreshToken"]})["data"]["logout"] is True
    inline = f'mutation {{ refreshToken(refreshToken: "{pair["refreshToken"]}") {{ expiresIn }} }}'
    assert error_code(anon(inline)) == "INVALID_REFRESH_TOKEN"
    stale = pair["accessToken"][:-4] + "AAAA"  # a bad signature
    result = GraphQLClient(Client(), stale)(ME)
    assert error_code(result) == "UNAUTHENTICATED"
    for log in (caplog.text, console_log.getvalue()):
        assert pair["refreshToken"] not in log and pair["accessToken"][:60] not in log
