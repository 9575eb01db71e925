"""Meter readings as sent (raw, pruned after a while) and rolled up per hour (kept)."""

from django.db import models
from django.db.models import Q

from devices.models.tree import Device


class Reading(models.Model):
    """One telemetry reading of a physical device, kept ``READINGS_RETENTION_DAYS``.

    ``(device, measured_at)`` is unique and is the index for per-device time ranges; ``seq``
    (the device's sequence number) is unique per device when given. A re-sent batch conflicts
    on either and stores nothing twice.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="readings")
    measured_at = models.DateTimeField()
    received_at = models.DateTimeField()
    seq = models.BigIntegerField(null=True, blank=True)
    voltage_v = models.FloatField()
    current_a = models.FloatField()
    power_w = models.FloatField()
    energy_wh = models.FloatField()
    frequency_hz = models.FloatField()
    power_factor = models.FloatField()

    class Meta:
        ordering = ["device", "measured_at"]
        constraints = [
            models.UniqueConstraint(fields=["device", "measured_at"], name="reading_device_time"),
            models.UniqueConstraint(
                fields=["device", "seq"], condition=Q(seq__isnull=False), name="reading_device_seq"
            ),
        ]


class ReadingHourly(models.Model):
    """An hour of a device's readings; kept for good."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="hourly_readings")
    hour = models.DateTimeField(help_text="Start of the hour, UTC.")
    energy_wh = models.FloatField(help_text="Energy counted by the meter in this hour. [Wh]")
    avg_power_w = models.FloatField()
    min_power_w = models.FloatField()
    max_power_w = models.FloatField()
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["device", "hour"]
        constraints = [
            models.UniqueConstraint(fields=["device", "hour"], name="reading_hourly_device_hour"),
        ]
