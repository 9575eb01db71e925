"""The device tree: one concrete ``Device`` base and one child table per kind (multi-table
inheritance), with the kind, source and status vocabularies."""

from datetime import time

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from model_utils.managers import InheritanceManager

from devices.models.homes import Home
from devices.validators import (
    AREA_M2,
    ENERGY_WH,
    MAX_POWER_W,
    POWER_OR_ZERO_W,
    POWER_W,
    Between,
    validate_efficiency,
    validate_fraction,
    validate_name,
)
from simulators.physics.constants import WEEKDAYS_MASK

TILT_DEG = Between(0, 90, unit="°")
AZIMUTH_DEG = Between(0, 360, unit="°")
HEATER_SETPOINT_C = Between(5, 35, unit="°C")
AC_SETPOINT_C = Between(16, 32, unit="°C")
DRIVING_WH_PER_HOUR = Between(0.0, MAX_POWER_W, unit="Wh/h")


def _within(field: str, rule: Between, name: str) -> models.CheckConstraint:
    """The database's own guard for a field validated by ``rule``."""
    return models.CheckConstraint(condition=rule.condition(field), name=name)


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
    name = models.CharField(max_length=120, validators=[validate_name])
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

    panel_area_m2 = models.FloatField(validators=[AREA_M2])
    efficiency = models.FloatField(default=0.2, validators=[validate_efficiency])
    rated_power_w = models.FloatField(validators=[POWER_W])
    tilt_deg = models.FloatField(default=30.0, validators=[TILT_DEG])
    azimuth_deg = models.FloatField(
        default=180.0,
        validators=[AZIMUTH_DEG],
        help_text="Compass direction the panel faces: 0 north, 90 east, 180 south. [deg]",
    )

    class Meta:
        constraints = [
            _within("panel_area_m2", AREA_M2, "solar_area_range"),
            models.CheckConstraint(
                condition=Q(efficiency__gt=0, efficiency__lte=1), name="solar_efficiency_range"
            ),
            _within("rated_power_w", POWER_W, "solar_rated_range"),
            _within("tilt_deg", TILT_DEG, "solar_tilt"),
            _within("azimuth_deg", AZIMUTH_DEG, "solar_azimuth"),
        ]


class Generator(Device):
    KIND = DeviceKind.GENERATOR

    rated_power_w = models.FloatField(validators=[POWER_W])
    running = models.BooleanField(default=False)

    class Meta:
        constraints = [_within("rated_power_w", POWER_W, "generator_rated_range")]


class Battery(Device):
    KIND = DeviceKind.BATTERY

    capacity_wh = models.FloatField(validators=[ENERGY_WH])
    max_charge_w = models.FloatField(validators=[POWER_W])
    max_discharge_w = models.FloatField(validators=[POWER_W])
    round_trip_efficiency = models.FloatField(default=0.9, validators=[validate_efficiency])
    min_soc = models.FloatField(default=0.1, validators=[validate_fraction])
    level_wh = models.FloatField(
        null=True, blank=True, help_text="Last checkpointed stored energy. [Wh]"
    )
    level_at = models.DateTimeField(null=True, blank=True)
    # The ledger's book at the last checkpoint (simulators.physics.ledger.StoreBook): average
    # cost [currency/kWh] and carbon [g/kWh] of the stored energy, its shares by origin.
    book_cost_per_kwh = models.FloatField(null=True, blank=True)
    book_carbon_g_per_kwh = models.FloatField(null=True, blank=True)
    book_solar_share = models.FloatField(null=True, blank=True)
    book_generator_share = models.FloatField(null=True, blank=True)
    book_grid_share = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "batteries"
        constraints = [
            _within("capacity_wh", ENERGY_WH, "battery_capacity_range"),
            _within("max_charge_w", POWER_W, "battery_charge_range"),
            _within("max_discharge_w", POWER_W, "battery_discharge_range"),
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


class ElectricVehicle(Device):
    KIND = DeviceKind.ELECTRIC_VEHICLE

    battery_capacity_wh = models.FloatField(validators=[ENERGY_WH])
    max_charge_w = models.FloatField(validators=[POWER_W])
    max_discharge_w = models.FloatField(default=0.0, validators=[POWER_OR_ZERO_W])
    mode = models.CharField(max_length=12, choices=EvMode.choices, default=EvMode.IDLE)
    target_soc = models.FloatField(default=0.9, validators=[validate_fraction])
    reserve_soc = models.FloatField(
        default=0.3, validators=[validate_fraction], help_text="V2H never discharges below this."
    )
    driving_wh_per_hour = models.FloatField(default=2500.0, validators=[DRIVING_WH_PER_HOUR])
    away_days = models.PositiveSmallIntegerField(
        default=WEEKDAYS_MASK,
        validators=[MaxValueValidator(0b1111111)],
        help_text="Days away, a bit per weekday: Monday is bit 0, Sunday bit 6.",
    )
    departure_time = models.TimeField(default=time(7, 0))
    arrival_time = models.TimeField(default=time(18, 0))
    level_wh = models.FloatField(null=True, blank=True)
    level_at = models.DateTimeField(null=True, blank=True)
    # The ledger's book at the last checkpoint (simulators.physics.ledger.StoreBook): average
    # cost [currency/kWh] and carbon [g/kWh] of the stored energy, its shares by origin.
    book_cost_per_kwh = models.FloatField(null=True, blank=True)
    book_carbon_g_per_kwh = models.FloatField(null=True, blank=True)
    book_solar_share = models.FloatField(null=True, blank=True)
    book_generator_share = models.FloatField(null=True, blank=True)
    book_grid_share = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            _within("battery_capacity_wh", ENERGY_WH, "ev_capacity_range"),
            _within("max_charge_w", POWER_W, "ev_charge_range"),
            _within("max_discharge_w", POWER_OR_ZERO_W, "ev_discharge_range"),
            _within("driving_wh_per_hour", DRIVING_WH_PER_HOUR, "ev_driving_range"),
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

    rated_power_w = models.FloatField(validators=[POWER_W])
    setpoint_c = models.FloatField(default=20.0, validators=[HEATER_SETPOINT_C])

    class Meta:
        constraints = [
            _within("rated_power_w", POWER_W, "heater_rated_range"),
            _within("setpoint_c", HEATER_SETPOINT_C, "heater_setpoint_range"),
        ]


class AirConditioner(Device):
    KIND = DeviceKind.AIR_CONDITIONER

    rated_power_w = models.FloatField(validators=[POWER_W])
    setpoint_c = models.FloatField(default=24.0, validators=[AC_SETPOINT_C])

    class Meta:
        constraints = [
            _within("rated_power_w", POWER_W, "ac_rated_range"),
            _within("setpoint_c", AC_SETPOINT_C, "ac_setpoint_range"),
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
