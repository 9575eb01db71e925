"""Access tokens: only our HS256 tokens with every claim right are accepted."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings
from freezegun import freeze_time

from accounts.tokens import InvalidToken, access_token_decode, access_token_issue


def _claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(tz=UTC)
    claims: dict[str, object] = {
        "sub": "42",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "jti": "abc",
        "typ": "access",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, default=lambda d: int(d.timestamp())).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_issued_token_round_trips() -> None:
    token, expires_at = access_token_issue(user_id=7)
    claims = access_token_decode(token)
    assert claims.user_id == 7
    assert claims.expires_at == expires_at.replace(microsecond=0)


def test_default_lifetime_is_fifteen_minutes() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    _, expires_at = access_token_issue(user_id=1, now=now)
    assert expires_at - now == timedelta(minutes=15)


def test_alg_none_is_rejected() -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    with pytest.raises(InvalidToken):
        access_token_decode(token)


def test_another_algorithm_is_rejected() -> None:
    token = jwt.encode(_claims(), settings.JWT_SIGNING_KEY, algorithm="HS512")
    with pytest.raises(InvalidToken):
        access_token_decode(token)


def test_bad_signature_is_rejected() -> None:
    token = jwt.encode(_claims(), "another-key-that-is-long-enough-for-hs256-xx", algorithm="HS256")
    with pytest.raises(InvalidToken):
        access_token_decode(token)


def test_tampered_payload_is_rejected() -> None:
    token, _ = access_token_issue(user_id=1)
    header, _, signature = token.split(".")
    forged = f"{header}.{_b64(_claims(sub='2'))}.{signature}"
    with pytest.raises(InvalidToken):
        access_token_decode(forged)


@pytest.mark.parametrize(
    "override",
    [{"iss": "someone-else"}, {"aud": "another-api"}, {"typ": "refresh"}, {"sub": "admin"}],
)
def test_wrong_issuer_audience_type_or_subject_is_rejected(override: dict[str, str]) -> None:
    token = jwt.encode(_claims(**override), settings.JWT_SIGNING_KEY, algorithm="HS256")
    with pytest.raises(InvalidToken):
        access_token_decode(token)


@pytest.mark.parametrize("missing", ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "typ"])
def test_missing_registered_claim_is_rejected(missing: str) -> None:
    token = jwt.encode(_claims(**{missing: None}), settings.JWT_SIGNING_KEY, algorithm="HS256")
    with pytest.raises(InvalidToken):
        access_token_decode(token)


def test_expired_token_is_rejected() -> None:
    with freeze_time("2026-03-01 12:00:00"):
        token, _ = access_token_issue(user_id=1)
    with freeze_time("2026-03-01 12:15:06"), pytest.raises(InvalidToken, match="expired"):
        access_token_decode(token)
    with freeze_time("2026-03-01 12:14:00"):
        assert access_token_decode(token).user_id == 1


def test_garbage_is_rejected() -> None:
    for token in ("", "a.b", "not-a-token", "a.b.c"):
        with pytest.raises(InvalidToken):
            access_token_decode(token)


def test_short_signing_key_is_refused(settings: object) -> None:
    settings.JWT_SIGNING_KEY = "short"  # type: ignore[attr-defined]
    with pytest.raises(jwt.InvalidKeyError):
        access_token_issue(user_id=1)
