"""Homes: where devices live, owned by a user."""

from django.conf import settings
from django.db import models

from devices.validators import (
    POWER_OR_ZERO_W,
    Between,
    validate_name,
    validate_timezone,
)

LATITUDE_DEG = Between(-90, 90, unit="°")
LONGITUDE_DEG = Between(-180, 180, unit="°")


class Home(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="homes"
    )
    name = models.CharField(max_length=120, validators=[validate_name])
    latitude = models.FloatField(validators=[LATITUDE_DEG])
    longitude = models.FloatField(validators=[LONGITUDE_DEG])
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    base_load_w = models.FloatField(
        default=400.0,
        validators=[POWER_OR_ZERO_W],
        help_text="Mean household base load; the simulator shapes it over the day. [W]",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=LATITUDE_DEG.condition("latitude"), name="home_latitude_range"
            ),
            models.CheckConstraint(
                condition=LONGITUDE_DEG.condition("longitude"), name="home_longitude_range"
            ),
            models.CheckConstraint(
                condition=POWER_OR_ZERO_W.condition("base_load_w"), name="home_base_load_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name
