"""
Tariffs per home and stored signal points.

A home without a ``Tariff`` buys and sells at the import and export price signals of its region
(a dynamic tariff on the default providers). Times of a time-of-use period are wall-clock times
in the home's own time zone, so a period keeps its local hours across a DST change.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from devices.models import Home
from devices.validators import Between
from simulators.physics.constants import ALL_DAYS_MASK

PRICE_PER_KWH = Between(-10.0, 100.0, unit="per kWh")
"""A price per kWh, in the tariff's currency; negative prices happen on day-ahead markets."""
STANDING_CHARGE_PER_DAY = Between(0.0, 1000.0, unit="per day")
DAYS_MASK = Between(1, ALL_DAYS_MASK)
SIGNAL_VALUE = Between(-1e6, 1e6)
"""Generous bounds of any stored signal value; the fetch service checks each signal's own range."""

validate_currency = RegexValidator(
    r"^[A-Z]{3}\Z", "Use a three-letter ISO 4217 code such as EUR or GBP.", code="invalid"
)
validate_region = RegexValidator(
    r"^[A-Za-z0-9:,._-]{1,64}\Z",
    "A region is 1–64 letters, digits or ':,._-', for example GB or geo:52,-1.",
    code="invalid",
)


class TariffKind(models.TextChoices):
    FIXED = "fixed", "Fixed"
    TIME_OF_USE = "time_of_use", "Time of use"
    DYNAMIC = "dynamic", "Dynamic"


class Tariff(models.Model):
    """How a home pays for imports and is paid for exports."""

    home = models.OneToOneField(Home, on_delete=models.CASCADE, related_name="tariff")
    kind = models.CharField(max_length=16, choices=TariffKind.choices)
    currency = models.CharField(max_length=3, default="EUR", validators=[validate_currency])
    standing_charge_per_day = models.FloatField(default=0.0, validators=[STANDING_CHARGE_PER_DAY])
    import_price_per_kwh = models.FloatField(
        null=True,
        blank=True,
        validators=[PRICE_PER_KWH],
        help_text="The fixed tariff's import price; empty for time of use and dynamic.",
    )
    export_price_per_kwh = models.FloatField(
        null=True,
        blank=True,
        validators=[PRICE_PER_KWH],
        help_text="A fixed export price; empty to be paid the export price signal.",
    )
    region = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_region],
        help_text="The signals' region; empty for the home's own 1° cell (geo:<lat>,<lon>).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["home_id"]
        constraints = [
            models.CheckConstraint(
                condition=STANDING_CHARGE_PER_DAY.condition("standing_charge_per_day"),
                name="tariff_standing_charge_range",
            ),
            models.CheckConstraint(
                condition=models.Q(import_price_per_kwh__isnull=True)
                | PRICE_PER_KWH.condition("import_price_per_kwh"),
                name="tariff_import_price_range",
            ),
            models.CheckConstraint(
                condition=models.Q(export_price_per_kwh__isnull=True)
                | PRICE_PER_KWH.condition("export_price_per_kwh"),
                name="tariff_export_price_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} tariff of {self.home}"


class TariffPeriod(models.Model):
    """An import price over ``[start, end)`` local time on the days of ``days`` (bit 0 Monday).

    ``end`` 00:00 means midnight at the end of the day.
    """

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="periods")
    days = models.PositiveSmallIntegerField(validators=[DAYS_MASK])
    start = models.TimeField()
    end = models.TimeField()
    import_price_per_kwh = models.FloatField(validators=[PRICE_PER_KWH])

    class Meta:
        ordering = ["tariff_id", "start", "days"]
        constraints = [
            models.CheckConstraint(condition=DAYS_MASK.condition("days"), name="period_days_range"),
            models.CheckConstraint(
                condition=PRICE_PER_KWH.condition("import_price_per_kwh"),
                name="period_import_price_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} ({self.days:07b})"


class SignalPoint(models.Model):
    """One value a provider gave for ``[start, end)`` of a signal in a region."""

    signal = models.CharField(max_length=32)
    region = models.CharField(max_length=64)
    source = models.CharField(max_length=64)
    start = models.DateTimeField()
    end = models.DateTimeField()
    value = models.FloatField(validators=[SIGNAL_VALUE])
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["signal", "region", "source", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["signal", "region", "source", "start"], name="signal_point_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="signal_point_span"
            ),
            models.CheckConstraint(
                condition=SIGNAL_VALUE.condition("value"), name="signal_point_value_range"
            ),
        ]
        indexes = [
            models.Index(fields=["region", "signal", "start"], name="signal_point_lookup"),
            models.Index(fields=["fetched_at"], name="signal_point_fetched"),
        ]

    def __str__(self) -> str:
        return f"{self.signal} {self.region} {self.source} {self.start:%Y-%m-%d %H:%M}"
