"""Tokens verified once per process, and users' right to call the API remembered per process,
yet a deactivation or deletion is seen at the next operation, wherever it happened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from freezegun import freeze_time

from accounts import access, tokens
from accounts.models import User
from devices.live import store
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def may_call(user: Any) -> bool:
    return async_to_sync(access.user_may_call)(user_id=user.pk)


def test_a_token_is_verified_once_then_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    decode = tokens.access_token_decode

    def counting(token: str) -> tokens.AccessClaims:
        decoded.append(token)
        return decode(token)

    monkeypatch.setattr(tokens, "access_token_decode", counting)
    issued_at = datetime.now(tz=UTC)
    token, expires_at = tokens.access_token_issue(user_id=5, now=issued_at)
    assert tokens.access_token_verify(token).user_id == 5
    assert tokens.access_token_verify(token).user_id == 5
    assert decoded == [token]
    expired = freeze_time(expires_at + timedelta(seconds=tokens.LEEWAY_S + 1))
    with expired, pytest.raises(tokens.InvalidToken):
        tokens.access_token_verify(token)


def test_a_bad_token_is_refused_every_time_and_never_kept() -> None:
    for _ in range(2):
        with pytest.raises(tokens.InvalidToken):
            tokens.access_token_verify("not-a-jwt")
    assert "not-a-jwt" not in tokens._verified


def test_an_active_user_is_checked_in_the_database_once(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    user = UserFactory()
    with django_assert_num_queries(1):
        assert may_call(user)
    with django_assert_num_queries(0):
        assert may_call(user)


def test_a_change_made_by_another_process_is_seen_at_once() -> None:
    user = UserFactory()
    assert may_call(user)  # remembered here
    # Another process deactivates the user: its model layer replaces the access version in
    # Redis; this process's memory of the user is not touched.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET is_active = false WHERE id = %s", [user.pk])
    store.user_access_versions_bump([user.pk])
    assert not may_call(user)


def deactivate_and_save(user: User) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


@pytest.mark.parametrize(
    "retire",
    [
        lambda user: User.objects.filter(pk=user.pk).update(is_active=False),
        lambda user: deactivate_and_save(user),
        lambda user: user.delete(),
        lambda user: User.objects.filter(pk=user.pk).delete(),
    ],
    ids=["queryset update", "save", "delete", "queryset delete"],
)
def test_every_way_of_retiring_a_user_replaces_the_access_version(
    retire: Callable[[User], object],
) -> None:
    user: Any = UserFactory()
    other = UserFactory()
    assert may_call(user) and may_call(other)
    user_id = user.pk  # a deleted instance forgets its id
    before = async_to_sync(read_version)(user_id)
    other_before = async_to_sync(read_version)(other.pk)
    retire(user)
    assert async_to_sync(read_version)(user_id) != before
    assert async_to_sync(read_version)(other.pk) == other_before
    assert not async_to_sync(access.user_may_call)(user_id=user_id)
    assert may_call(other)


def test_a_login_does_not_drop_the_remembered_answer(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    user = UserFactory()
    assert may_call(user)
    user.last_login = datetime.now(tz=UTC)
    user.save(update_fields=["last_login"])
    with django_assert_num_queries(0):
        assert may_call(user)


async def read_version(user_id: int) -> bytes | None:
    return await store.auser_access_version(user_id, store.shared_async_client())
