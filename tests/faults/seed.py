"""Prepare a fault scenario's database as ``make run`` does, plus the meters it emulates.

``python -m tests.faults.seed KEYS_FILE METERS`` (with the scenario's environment): migrate,
seed the demo, install both schedules, then create METERS energy meters in the demo's first
home and write their ids and keys to KEYS_FILE.
"""

from __future__ import annotations

import json
import sys

import django
from django.core.management import call_command


def main(argv: list[str]) -> None:
    keys_file, count = argv[0], int(argv[1])
    django.setup()
    from accounts.models import User
    from devices import hardware, services
    from devices.models import DeviceKind, Home

    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed_demo")
    call_command("setup_schedule")
    call_command("setup_hardware_schedule")
    demo = User.objects.get(username="demo")
    home = Home.objects.filter(owner=demo).order_by("id").first()
    assert home is not None
    keys = []
    for i in range(count):
        meter = services.device_create(
            user_id=demo.pk, kind=DeviceKind.ENERGY_METER, home_id=home.pk, name=f"Meter {i + 1}"
        )
        rotated = hardware.device_api_key_rotate(user_id=demo.pk, device_id=meter.pk)
        keys.append({"device_id": str(meter.pk), "key": rotated.key})
    with open(keys_file, "w", encoding="utf-8") as handle:
        json.dump(keys, handle)


if __name__ == "__main__":
    main(sys.argv[1:])
