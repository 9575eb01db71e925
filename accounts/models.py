"""Users and their refresh tokens."""

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models

from accounts.access import user_access_changed


class UserQuerySet(models.QuerySet["User"]):
    """Bulk changes of who may call the API reach every process's remembered answers too."""

    def update(self, **kwargs: Any) -> int:
        if "is_active" not in kwargs:
            return super().update(**kwargs)
        ids = list(self.values_list("pk", flat=True))
        count = super().update(**kwargs)
        user_access_changed(ids)
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        ids = list(self.values_list("pk", flat=True))
        result = super().delete()
        user_access_changed(ids)
        return result


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    """A gridtwin user; owns homes. Custom from the first migration so it can grow.

    Saving ``is_active`` (or the whole user) and deleting tell :mod:`accounts.access`, so that
    a token of a deactivated or deleted user is refused at once by every process. This is the
    one side effect in a model: the access check must see every way a user is retired (the
    admin saves, a shell may ``update()``), not only the ones that pass through a service.
    """

    email = models.EmailField("email address", blank=True)

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def save(self, *args: Any, **kwargs: Any) -> None:
        created = self._state.adding  # a new user: no process can remember an answer for it
        super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if not created and (update_fields is None or "is_active" in update_fields):
            user_access_changed([self.pk])

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        pk = self.pk
        result = super().delete(*args, **kwargs)
        user_access_changed([pk])
        return result


class RefreshToken(models.Model):
    """One refresh token of a login session (a family), stored only as a SHA-256 hash.

    Every use rotates the token: the used one gets ``rotated_at`` and a successor in the same
    family. Presenting a rotated token again means it leaked, so the whole family is revoked.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="refresh_tokens"
    )
    family = models.UUIDField(default=uuid.uuid4, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"refresh token {self.pk} of {self.user_id} (family {self.family})"
