"""Commands sent to devices and their lifecycle."""

import uuid

from django.db import models

from devices.models.tree import Device


class CommandStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class DeviceCommand(models.Model):
    """A command to a device: pending → sent → acknowledged | failed | expired."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="commands")
    command = models.CharField(max_length=64)
    args = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=CommandStatus.choices, default=CommandStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    result = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["device", "status"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]
