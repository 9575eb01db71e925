"""Alert rules per device and the alerts they raise."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from devices.models.tree import Device
from devices.validators import (
    POWER_OR_ZERO_W,
    VOLTAGE_V,
    validate_fraction,
)


class AlertKind(models.TextChoices):
    POWER_HIGH = "power_high", "Power above the limit"
    VOLTAGE_OUT_OF_RANGE = "voltage_out_of_range", "Voltage out of range"
    BATTERY_LOW = "battery_low", "Battery low"
    OFFLINE = "offline", "Device offline"


class AlertSeverity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertRule(models.Model):
    """Per-device thresholds; a null limit is not checked."""

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="alert_rule")
    power_max_w = models.FloatField(null=True, blank=True, validators=[POWER_OR_ZERO_W])
    voltage_min_v = models.FloatField(null=True, blank=True, validators=[VOLTAGE_V])
    voltage_max_v = models.FloatField(null=True, blank=True, validators=[VOLTAGE_V])
    battery_min_soc = models.FloatField(null=True, blank=True, validators=[validate_fraction])
    offline = models.BooleanField(default=True, help_text="Alert when the device goes silent.")
    updated_at = models.DateTimeField(auto_now=True)

    def clean(self) -> None:
        if (
            self.voltage_min_v is not None
            and self.voltage_max_v is not None
            and self.voltage_min_v >= self.voltage_max_v
        ):
            raise ValidationError({"voltage_max_v": "Must be above the minimum voltage."})


class Alert(models.Model):
    """Raised once while a condition lasts; resolved when it clears (or by the owner)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=24, choices=AlertKind.choices)
    severity = models.CharField(
        max_length=10, choices=AlertSeverity.choices, default=AlertSeverity.WARNING
    )
    message = models.CharField(max_length=240)
    value = models.FloatField(null=True, blank=True)
    raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "kind"],
                condition=Q(resolved_at__isnull=True),
                name="alert_one_open_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["device", "resolved_at"])]
