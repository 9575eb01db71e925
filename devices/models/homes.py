"""Homes: where devices live, owned by a user."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from devices.validators import (
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
