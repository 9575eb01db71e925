"""A home's optimisation goal and its latest plan."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from devices.models import Device, DeviceCommand, Home
from devices.validators import MAX_POWER_W, POWER_OR_ZERO_W

DEFAULT_IMPORT_MAX_W = 25_000.0
"""A home's grid connection when its goal names none: a 100 A single-phase supply. [W]"""
DEFAULT_EXPORT_MAX_W = 10_000.0
"""What a home may export when its goal names no limit. [W]"""


class Objective(models.TextChoices):
    COST = "cost", "Cost"
    CARBON = "carbon", "Carbon"
    SELF_CONSUMPTION = "self_consumption", "Self-consumption"


class OptimizationGoal(models.Model):
    """What a home's plans minimise, and the grid limits they respect."""

    home = models.OneToOneField(Home, on_delete=models.CASCADE, related_name="optimization_goal")
    objective = models.CharField(max_length=20, choices=Objective.choices)
    grid_import_max_w = models.FloatField(
        default=DEFAULT_IMPORT_MAX_W, validators=[POWER_OR_ZERO_W], help_text="[W]"
    )
    grid_export_max_w = models.FloatField(
        default=DEFAULT_EXPORT_MAX_W, validators=[POWER_OR_ZERO_W], help_text="[W]"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(objective__in=Objective.values), name="goal_objective_known"
            ),
            models.CheckConstraint(
                condition=Q(grid_import_max_w__gte=0, grid_import_max_w__lte=MAX_POWER_W),
                name="goal_import_max_range",
            ),
            models.CheckConstraint(
                condition=Q(grid_export_max_w__gte=0, grid_export_max_w__lte=MAX_POWER_W),
                name="goal_export_max_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.home}: {self.objective}"


class HomePlan(models.Model):
    """The latest plan of a home, with the hash of the inputs it was made from."""

    home = models.OneToOneField(Home, on_delete=models.CASCADE, related_name="plan")
    inputs_hash = models.CharField(max_length=64)
    plan_hash = models.CharField(
        max_length=64, default="", help_text="SHA-256 of the plan's setpoints."
    )
    objective = models.CharField(max_length=20, choices=Objective.choices)
    status = models.CharField(max_length=12)
    starts_at = models.DateTimeField()
    created_at = models.DateTimeField()
    payload = models.JSONField(help_text="Setpoints per interval and device, expected outcomes.")

    def __str__(self) -> str:
        return f"{self.home}: {self.status} plan from {self.starts_at:%Y-%m-%d %H:%M}"


class DecisionAction(models.TextChoices):
    CHARGE = "charge", "Charge"
    DISCHARGE = "discharge", "Discharge"
    IDLE = "idle", "Idle"
    HEAT = "heat", "Heat"
    COOL = "cool", "Cool"
    OFF = "off", "Off"
    RUN = "run", "Run"
    STOP = "stop", "Stop"


class DecisionSource(models.TextChoices):
    SIMULATED = "simulated", "Applied by the farm to a simulated device"
    COMMAND = "command", "Sent to a physical device as a command"


class Decision(models.Model):
    """
    One action a plan applied to one device for one 15-minute interval, and why: the plan
    and inputs it came from (hashes) and its expected cost and carbon effect (the energy the
    action draws, > 0, or gives the home, < 0, at the interval's import price and carbon).
    """

    home = models.ForeignKey(Home, on_delete=models.CASCADE, related_name="decisions")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="decisions")
    interval_start = models.DateTimeField()
    interval_end = models.DateTimeField()
    action = models.CharField(max_length=12, choices=DecisionAction.choices)
    power_w = models.FloatField(help_text="The plan's setpoint, + drawing. [W]")
    objective = models.CharField(max_length=20, choices=Objective.choices)
    plan_hash = models.CharField(max_length=64)
    inputs_hash = models.CharField(max_length=64)
    expected_cost = models.FloatField(help_text="[currency]")
    expected_carbon_g = models.FloatField(help_text="[gCO2e]")
    source = models.CharField(max_length=12, choices=DecisionSource.choices)
    command = models.ForeignKey(
        DeviceCommand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["interval_start", "device_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "interval_start"], name="decision_device_interval_unique"
            ),
        ]
        indexes = [models.Index(fields=["home", "interval_start"])]

    def __str__(self) -> str:
        return f"{self.device_id} {self.action} {self.power_w:.0f} W at {self.interval_start}"
