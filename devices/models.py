"""Homes and the device tree (multi-table inheritance, one child table per kind)."""

import uuid
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from model_utils.managers import InheritanceManager

from devices.validators import (
    validate_efficiency,
    validate_fraction,
    validate_positive,
    validate_timezone,
)


class Home(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="homes"
    )
    name = models.CharField(max_length=120)
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    base_load_w = models.FloatField(
        default=400.0,
        validators=[MinValueValidator(0)],
        help_text="Mean household base load; the simulator shapes it over the day. [W]",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90), name="home_latitude_range"
            ),
            models.CheckConstraint(
                condition=Q(longitude__gte=-180, longitude__lte=180), name="home_longitude_range"
            ),
            models.CheckConstraint(condition=Q(base_load_w__gte=0), name="home_base_load_nonneg"),
        ]

    def __str__(self) -> str:
        return self.name


class DeviceKind(models.TextChoices):
    SOLAR_PANEL = "solar_panel", "Solar panel"
    GENERATOR = "generator", "Generator"
    BATTERY = "battery", "Battery"
    ELECTRIC_VEHICLE = "electric_vehicle", "Electric vehicle"
    HEATER = "heater", "Heater"
    AIR_CONDITIONER = "air_conditioner", "Air conditioner"
    ENERGY_METER = "energy_meter", "Energy meter"


class DeviceSource(models.TextChoices):
    SIMULATED = "simulated", "Simulated"
    PHYSICAL = "physical", "Physical"


class DeviceStatus(models.TextChoices):
    ONLINE = "online", "Online"
    OFFLINE = "offline", "Offline"
    DISABLED = "disabled", "Disabled"


class Device(models.Model):
    """The concrete base of every device. ``kind`` names the child table that completes it."""

    KIND: DeviceKind

    home = models.ForeignKey(Home, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=DeviceKind.choices, editable=False)
    source = models.CharField(
        max_length=10, choices=DeviceSource.choices, default=DeviceSource.SIMULATED
    )
    status = models.CharField(
        max_length=10, choices=DeviceStatus.choices, default=DeviceStatus.ONLINE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    api_key_prefix = models.CharField(max_length=16, null=True, blank=True, unique=True)
    api_key_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = InheritanceManager()

    class Meta:
        ordering = ["id"]
        base_manager_name = "objects"
        indexes = [
            models.Index(fields=["home", "kind"]),
            models.Index(fields=["kind", "source", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def save(self, *args: object, **kwargs: object) -> None:
        kind = getattr(type(self), "KIND", None)
        if kind is not None:
            self.kind = kind
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class SolarPanel(Device):
    KIND = DeviceKind.SOLAR_PANEL

    panel_area_m2 = models.FloatField(validators=[validate_positive])
    efficiency = models.FloatField(default=0.2, validators=[validate_efficiency])
    rated_power_w = models.FloatField(validators=[validate_positive])
    tilt_deg = models.FloatField(
        default=30.0, validators=[MinValueValidator(0), MaxValueValidator(90)]
    )
    azimuth_deg = models.FloatField(
        default=180.0,
        validators=[MinValueValidator(0), MaxValueValidator(360)],
        help_text="Compass direction the panel faces: 0 north, 90 east, 180 south. [deg]",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(panel_area_m2__gt=0), name="solar_area_pos"),
            models.CheckConstraint(
                condition=Q(efficiency__gt=0, efficiency__lte=1), name="solar_efficiency_range"
            ),
            models.CheckConstraint(condition=Q(rated_power_w__gt=0), name="solar_rated_pos"),
            models.CheckConstraint(
                condition=Q(tilt_deg__gte=0, tilt_deg__lte=90), name="solar_tilt"
            ),
            models.CheckConstraint(
                condition=Q(azimuth_deg__gte=0, azimuth_deg__lte=360), name="solar_azimuth"
            ),
        ]


class Generator(Device):
    KIND = DeviceKind.GENERATOR

    rated_power_w = models.FloatField(validators=[validate_positive])
    running = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rated_power_w__gt=0), name="generator_rated_pos"),
        ]


class Battery(Device):
    KIND = DeviceKind.BATTERY

    capacity_wh = models.FloatField(validators=[validate_positive])
    max_charge_w = models.FloatField(validators=[validate_positive])
    max_discharge_w = models.FloatField(validators=[validate_positive])
    round_trip_efficiency = models.FloatField(default=0.9, validators=[validate_efficiency])
    min_soc = models.FloatField(default=0.1, validators=[validate_fraction])
    level_wh = models.FloatField(
        null=True, blank=True, help_text="Last checkpointed stored energy. [Wh]"
    )
    level_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "batteries"
        constraints = [
            models.CheckConstraint(condition=Q(capacity_wh__gt=0), name="battery_capacity_pos"),
            models.CheckConstraint(condition=Q(max_charge_w__gt=0), name="battery_charge_pos"),
            models.CheckConstraint(
                condition=Q(max_discharge_w__gt=0), name="battery_discharge_pos"
            ),
            models.CheckConstraint(
                condition=Q(round_trip_efficiency__gt=0, round_trip_efficiency__lte=1),
                name="battery_efficiency_range",
            ),
            models.CheckConstraint(
                condition=Q(min_soc__gte=0, min_soc__lt=1), name="battery_min_soc"
            ),
        ]

    def clean(self) -> None:
        if self.min_soc is not None and self.min_soc >= 1:
            raise ValidationError({"min_soc": "Must be below 1."})
        if (
            self.level_wh is not None
            and self.capacity_wh
            and not 0 <= self.level_wh <= self.capacity_wh
        ):
            raise ValidationError({"level_wh": "Must be between 0 and the capacity."})


class EvMode(models.TextChoices):
    CHARGING = "charging", "Charging"
    DISCHARGING = "discharging", "Discharging (V2H)"
    OFFLINE = "offline", "Offline"
    IDLE = "idle", "Idle"


WEEKDAYS_MASK = 0b0011111  # Monday (bit 0) to Friday (bit 4)


class ElectricVehicle(Device):
    KIND = DeviceKind.ELECTRIC_VEHICLE

    battery_capacity_wh = models.FloatField(validators=[validate_positive])
    max_charge_w = models.FloatField(validators=[validate_positive])
    max_discharge_w = models.FloatField(default=0.0, validators=[MinValueValidator(0)])
    mode = models.CharField(max_length=12, choices=EvMode.choices, default=EvMode.IDLE)
    target_soc = models.FloatField(default=0.9, validators=[validate_fraction])
    reserve_soc = models.FloatField(
        default=0.3, validators=[validate_fraction], help_text="V2H never discharges below this."
    )
    driving_wh_per_hour = models.FloatField(default=2500.0, validators=[MinValueValidator(0)])
    away_days = models.PositiveSmallIntegerField(
        default=WEEKDAYS_MASK,
        validators=[MaxValueValidator(0b1111111)],
        help_text="Days away, a bit per weekday: Monday is bit 0, Sunday bit 6.",
    )
    departure_time = models.TimeField(default=time(7, 0))
    arrival_time = models.TimeField(default=time(18, 0))
    level_wh = models.FloatField(null=True, blank=True)
    level_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(battery_capacity_wh__gt=0), name="ev_capacity_pos"),
            models.CheckConstraint(condition=Q(max_charge_w__gt=0), name="ev_charge_pos"),
            models.CheckConstraint(condition=Q(max_discharge_w__gte=0), name="ev_discharge_nonneg"),
            models.CheckConstraint(
                condition=Q(target_soc__gte=0, target_soc__lte=1), name="ev_target_soc_range"
            ),
            models.CheckConstraint(
                condition=Q(reserve_soc__gte=0, reserve_soc__lte=F("target_soc")),
                name="ev_reserve_below_target",
            ),
            models.CheckConstraint(condition=Q(away_days__lte=127), name="ev_away_days_mask"),
        ]

    def clean(self) -> None:
        if (
            self.reserve_soc is not None
            and self.target_soc is not None
            and self.reserve_soc > self.target_soc
        ):
            raise ValidationError({"reserve_soc": "Must not exceed the target state of charge."})
        if self.departure_time is not None and self.departure_time == self.arrival_time:
            raise ValidationError({"arrival_time": "Must differ from the departure time."})


class Heater(Device):
    KIND = DeviceKind.HEATER

    rated_power_w = models.FloatField(validators=[validate_positive])
    setpoint_c = models.FloatField(
        default=20.0, validators=[MinValueValidator(5), MaxValueValidator(35)]
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rated_power_w__gt=0), name="heater_rated_pos"),
            models.CheckConstraint(
                condition=Q(setpoint_c__gte=5, setpoint_c__lte=35), name="heater_setpoint_range"
            ),
        ]


class AirConditioner(Device):
    KIND = DeviceKind.AIR_CONDITIONER

    rated_power_w = models.FloatField(validators=[validate_positive])
    setpoint_c = models.FloatField(
        default=24.0, validators=[MinValueValidator(16), MaxValueValidator(32)]
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rated_power_w__gt=0), name="ac_rated_pos"),
            models.CheckConstraint(
                condition=Q(setpoint_c__gte=16, setpoint_c__lte=32), name="ac_setpoint_range"
            ),
        ]


class EnergyMeter(Device):
    """A physical PZEM-004T-style meter; the fields hold its latest reading."""

    KIND = DeviceKind.ENERGY_METER

    reporting_interval_s = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(3600)]
    )
    voltage_v = models.FloatField(null=True, blank=True)
    current_a = models.FloatField(null=True, blank=True)
    power_w = models.FloatField(null=True, blank=True)
    energy_wh = models.FloatField(null=True, blank=True)
    frequency_hz = models.FloatField(null=True, blank=True)
    power_factor = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reporting_interval_s__gte=1, reporting_interval_s__lte=3600),
                name="meter_interval_range",
            ),
        ]


DEVICE_MODELS: dict[DeviceKind, type[Device]] = {
    model.KIND: model
    for model in (
        SolarPanel,
        Generator,
        Battery,
        ElectricVehicle,
        Heater,
        AirConditioner,
        EnergyMeter,
    )
}


# --- Real hardware: readings, hourly rollups, commands, alerts -------------------------------


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
    power_max_w = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
    voltage_min_v = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
    voltage_max_v = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
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


class HomeEnergyHistory(models.Model):
    """Energy of one home over one simulation tick, written once by the farm. [Wh]"""

    home = models.ForeignKey(Home, on_delete=models.CASCADE, related_name="energy_history")
    tick_at = models.DateTimeField(help_text="End of the tick the energies cover (UTC).")
    production_wh = models.FloatField()
    consumption_wh = models.FloatField()
    import_wh = models.FloatField()
    export_wh = models.FloatField()
    charge_wh = models.FloatField()
    discharge_wh = models.FloatField()

    class Meta:
        verbose_name_plural = "home energy history"
        constraints = [
            models.UniqueConstraint(fields=["home", "tick_at"], name="history_home_tick_unique"),
        ]
