"""A home's optimisation goal and its latest plan."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from devices.models import Home
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
    objective = models.CharField(max_length=20, choices=Objective.choices)
    status = models.CharField(max_length=12)
    starts_at = models.DateTimeField()
    created_at = models.DateTimeField()
    payload = models.JSONField(help_text="Setpoints per interval and device, expected outcomes.")

    def __str__(self) -> str:
        return f"{self.home}: {self.status} plan from {self.starts_at:%Y-%m-%d %H:%M}"
