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
    base_load_wh = models.FloatField(
        default=0.0, help_text="The household's base load (and measured load) over the tick."
    )
    # The planner's side (docs/architecture.md, "The planner"): null when the home had no goal.
    baseline_cost = models.FloatField(
        null=True, blank=True, help_text="Import cost of the home's greedy twin. [currency]"
    )
    baseline_revenue = models.FloatField(
        null=True, blank=True, help_text="Export revenue of the home's greedy twin. [currency]"
    )
    baseline_carbon_g = models.FloatField(
        null=True, blank=True, help_text="Carbon of the greedy twin's imports. [gCO2e]"
    )
    solar_forecast_w = models.FloatField(
        null=True, blank=True, help_text="Solar the followed plan forecast for the tick. [W]"
    )
    solar_w = models.FloatField(
        null=True, blank=True, help_text="Solar output over the tick, beside its forecast. [W]"
    )
    base_load_forecast_w = models.FloatField(
        null=True, blank=True, help_text="Base load the followed plan forecast for the tick. [W]"
    )
    base_load_w = models.FloatField(
        null=True, blank=True, help_text="Base load over the tick, beside its forecast. [W]"
    )

    class Meta:
        verbose_name_plural = "home energy history"
        constraints = [
            models.UniqueConstraint(fields=["home", "tick_at"], name="history_home_tick_unique"),
        ]
