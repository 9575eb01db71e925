"""Per-home energy history, one row per home and tick."""

from django.db import models

from devices.models.homes import Home


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
    cost = models.FloatField(default=0.0, help_text="Import cost over the tick. [currency]")
    revenue = models.FloatField(default=0.0, help_text="Export revenue over the tick. [currency]")
    carbon_g = models.FloatField(default=0.0, help_text="Carbon emitted by imports. [gCO2e]")
    carbon_avoided_g = models.FloatField(
        default=0.0, help_text="Carbon displaced by own generation reaching load or grid. [gCO2e]"
    )

    class Meta:
        verbose_name_plural = "home energy history"
        constraints = [
            models.UniqueConstraint(fields=["home", "tick_at"], name="history_home_tick_unique"),
        ]
