# Reserved for the real-hardware models (readings, rollups, commands, alerts).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("devices", "0002_farm")]
    operations: list[migrations.operations.base.Operation] = []
