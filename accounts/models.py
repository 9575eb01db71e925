"""Users and their refresh tokens."""

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A gridtwin user; owns homes. Custom from the first migration so it can grow."""

    email = models.EmailField("email address", blank=True)


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
