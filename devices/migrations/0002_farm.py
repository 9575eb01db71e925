# The simulation farm's models: per-home energy history, one row per home and tick.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]
    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="HomeEnergyHistory",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "tick_at",
                    models.DateTimeField(help_text="End of the tick the energies cover (UTC)."),
                ),
                ("production_wh", models.FloatField()),
                ("consumption_wh", models.FloatField()),
                ("import_wh", models.FloatField()),
                ("export_wh", models.FloatField()),
                ("charge_wh", models.FloatField()),
                ("discharge_wh", models.FloatField()),
                (
                    "home",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="energy_history",
                        to="devices.home",
                    ),
                ),
            ],
            options={"verbose_name_plural": "home energy history"},
        ),
        migrations.AddConstraint(
            model_name="homeenergyhistory",
            constraint=models.UniqueConstraint(
                fields=("home", "tick_at"), name="history_home_tick_unique"
            ),
        ),
    ]
