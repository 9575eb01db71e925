"""JWT access tokens: HS256 pinned, every registered claim required, iss/aud checked."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from django.conf import settings

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"
#: Clock skew tolerated on exp and nbf [s].
LEEWAY_S = 5
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "typ"]


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not ours. Clients see one message."""

    def __init__(self, reason: str = "Invalid or expired token.") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    expires_at: datetime
    jti: str


def _jwt() -> jwt.PyJWT:
    return jwt.PyJWT(options={"enforce_minimum_key_length": True})


def access_token_issue(*, user_id: int, now: datetime | None = None) -> tuple[str, datetime]:
    """Sign an access token for ``user_id``; return it with its expiry."""
    issued_at = now or datetime.now(tz=UTC)
    expires_at = issued_at + settings.JWT_ACCESS_TOKEN_LIFETIME
    payload = {
        "sub": str(user_id),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": expires_at,
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "jti": uuid.uuid4().hex,
        "typ": ACCESS_TOKEN_TYPE,
    }
    token = _jwt().encode(payload, settings.JWT_SIGNING_KEY, algorithm=ALGORITHM)
    return token, expires_at


def access_token_decode(token: str) -> AccessClaims:
    """Verify an access token and return its claims, or raise :class:`InvalidToken`."""
    try:
        claims = _jwt().decode(
            token,
            settings.JWT_SIGNING_KEY,
            algorithms=[ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            options={"require": _REQUIRED_CLAIMS, "verify_signature": True},
            leeway=LEEWAY_S,
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("Token expired.") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if claims.get("typ") != ACCESS_TOKEN_TYPE or not str(claims["sub"]).isdigit():
        raise InvalidToken()
    return AccessClaims(
        user_id=int(claims["sub"]),
        expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
        jti=claims["jti"],
    )


#: Verified tokens, by their text, until they expire: the signature and claims of a token are
#: checked once per process, not once per request. Only tokens that passed are kept, never a
#: refusal, so garbage cannot fill the map; it is emptied whole when full.
_VERIFIED_MAX = 50_000
_verified: dict[str, AccessClaims] = {}


def access_token_verify(token: str) -> AccessClaims:
    """:func:`access_token_decode`, remembered for the token's remaining lifetime.

    Expiry is still enforced at each call (with the decoder's own leeway); whether the user may
    still call the API is a separate check (:mod:`accounts.access`).
    """
    claims = _verified.get(token)
    if claims is not None:
        if datetime.now(tz=UTC).timestamp() <= claims.expires_at.timestamp() + LEEWAY_S:
            return claims
        del _verified[token]
        raise InvalidToken("Token expired.")
    claims = access_token_decode(token)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[token] = claims
    return claims


def opaque_token() -> str:
    """A high-entropy random token (refresh tokens, device API keys)."""
    return secrets.token_urlsafe(32)
