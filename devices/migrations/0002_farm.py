# Reserved for the simulation farm's models (history, tick bookkeeping).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]
    operations: list[migrations.operations.base.Operation] = []
