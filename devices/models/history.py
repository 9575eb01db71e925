"""Per-home energy history, one row per home and tick; the stores' ledger checkpoint."""

from django.db import models

from devices.models.homes import Home
from devices.models.tree import Device


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


class StorageBook(models.Model):
    """A store's ledger book at the last checkpoint: what its stored energy cost and emitted,
    and where it came from (the restart point after a Redis loss; see docs/architecture.md)."""

    device = models.OneToOneField(
        Device, primary_key=True, on_delete=models.CASCADE, related_name="storage_book"
    )
    cost_per_kwh = models.FloatField(help_text="Average cost of the stored energy. [currency/kWh]")
    carbon_g_per_kwh = models.FloatField(help_text="Average carbon of the stored energy. [g/kWh]")
    solar_share = models.FloatField(help_text="Share from own solar. [-]")
    generator_share = models.FloatField(help_text="Share from own generators. [-]")
    grid_share = models.FloatField(help_text="Share from the grid; the rest is of unknown origin.")
    at = models.DateTimeField(help_text="Tick of the checkpoint (UTC).")
