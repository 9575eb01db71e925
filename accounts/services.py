"""Account writes: registration, login with throttling, refresh-token rotation, logout."""

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import throttle
from accounts.models import RefreshToken, User
from accounts.tokens import access_token_issue, opaque_token

logger = logging.getLogger(__name__)

LOGIN_FAILED = "Invalid username or password."


class InvalidRefreshToken(Exception):
    """Unknown, expired, revoked or reused refresh token. Clients see one message."""

    message = "Invalid refresh token."


@dataclass(frozen=True)
class TokenPair:
    user: User
    access_token: str
    refresh_token: str
    expires_in_s: int


def _hash(token: str) -> str:
    # "surrogatepass": a token with a lone surrogate is garbage, not a crash (it matches none)
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _is_text(value: str) -> bool:
    """Text PostgreSQL and the password hasher accept: no NUL, no lone surrogates."""
    return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)


def user_register(*, username: str, password: str, email: str = "") -> User:
    """Create a user after Django's password validation; the password is hashed with argon2."""
    user = User(username=username, email=email)
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not _is_text(password):
        errors["password"] = ["Must be text without NUL characters or lone surrogates."]
    else:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    return user


def _issue_pair(user: User, *, family: uuid.UUID | None = None) -> TokenPair:
    now = datetime.now(tz=UTC)
    access, expires_at = access_token_issue(user_id=user.pk, now=now)
    refresh = opaque_token()
    fields: dict[str, object] = {
        "user": user,
        "token_hash": _hash(refresh),
        "expires_at": now + settings.JWT_REFRESH_TOKEN_LIFETIME,
    }
    if family is not None:
        fields["family"] = family
    RefreshToken.objects.create(**fields)
    return TokenPair(
        user=user,
        access_token=access,
        refresh_token=refresh,
        expires_in_s=int((expires_at - now).total_seconds()),
    )


def user_login(*, username: str, password: str, client_ip: str) -> TokenPair:
    """Check credentials under a per-username and per-address failure limit; issue tokens.

    The attempt takes its slot under both limits before the password is checked (raising
    ``LoginThrottled`` when either is full), so parallel attempts cannot overrun them.
    Every failure answers with the same message, whether the user exists or not.
    """
    if not (_is_text(username) and _is_text(password)):  # no account has such credentials
        raise ValidationError(LOGIN_FAILED, code="invalid_credentials")
    slot = throttle.slot_acquire(username=username, client_ip=client_ip)
    user = authenticate(username=username, password=password)
    if user is None or not isinstance(user, User):
        logger.info("login failed for %r from %s", username, client_ip)
        raise ValidationError(LOGIN_FAILED, code="invalid_credentials")
    throttle.slot_release(slot)
    return _issue_pair(user)


def refresh_token_rotate(*, refresh_token: str) -> TokenPair:
    """Exchange a refresh token for a new pair; a reused token revokes its whole family."""
    now = datetime.now(tz=UTC)
    with transaction.atomic():
        token = (
            RefreshToken.objects.select_for_update()
            .select_related("user")
            .filter(token_hash=_hash(refresh_token))
            .first()
        )
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            pass
        elif token.rotated_at is not None:
            # A rotated token came back: someone holds a copy. Revoke the whole family; the
            # revocation commits before the error below.
            RefreshToken.objects.filter(family=token.family, revoked_at__isnull=True).update(
                revoked_at=now
            )
            logger.warning(
                "refresh token reuse for user %s: family %s revoked", token.user_id, token.family
            )
        elif token.user.is_active:
            token.rotated_at = now
            token.save(update_fields=["rotated_at"])
            return _issue_pair(token.user, family=token.family)
    raise InvalidRefreshToken()


def user_logout(*, refresh_token: str) -> bool:
    """Revoke the family of ``refresh_token``. Unknown tokens are ignored (idempotent)."""
    token = RefreshToken.objects.filter(token_hash=_hash(refresh_token)).first()
    if token is None:
        return False
    RefreshToken.objects.filter(family=token.family, revoked_at__isnull=True).update(
        revoked_at=datetime.now(tz=UTC)
    )
    return True
