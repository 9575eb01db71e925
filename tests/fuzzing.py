"""What the generated-input tests share: a second owner whose rows are easy to recognise, and
the checks that none of them reaches the first owner or changes.

The second owner's homes, devices and alerts take ids from a range no sequence of the test
database reaches, and every name they have carries :data:`MARK`, so a leak shows in any answer:
as an id under an ``id``-named key, or as the mark in any text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.forms.models import model_to_dict

from devices import hardware
from devices.models import Alert, AlertRule, Device, DeviceCommand, Home, Reading
from tests.accounts.factories import UserFactory
from tests.devices.factories import ALL_DEVICE_FACTORIES, HomeFactory

MARK = "zq-mallory-secret"
FIRST_ID = 7_770_001
PASSWORD = "mallory-password-7770"


@dataclass
class OtherOwner:
    """The second owner and every id of theirs (as API strings), for leak checks."""

    user: Any
    home_ids: list[str] = field(default_factory=list)
    device_ids: list[str] = field(default_factory=list)
    meter_id: str = ""
    meter_key: str = ""
    command_ids: list[str] = field(default_factory=list)
    alert_ids: list[str] = field(default_factory=list)

    @property
    def ids(self) -> set[str]:
        return {
            str(self.user.pk),
            *self.home_ids,
            *self.device_ids,
            *self.command_ids,
            *self.alert_ids,
        }


def other_owner_seed() -> OtherOwner:
    """Two homes with one device of every kind, a keyed meter with readings, commands and
    alerts, all named with :data:`MARK` and numbered from :data:`FIRST_ID`."""
    user = UserFactory(
        id=FIRST_ID - 1, username=f"{MARK}-user", email=f"{MARK}@example.org", password=PASSWORD
    )
    owner = OtherOwner(user=user)
    next_id = FIRST_ID
    for h in range(2):
        home = HomeFactory(id=next_id, owner=user, name=f"{MARK}-home-{h}")
        owner.home_ids.append(str(home.pk))
        next_id += 1
        for factory in ALL_DEVICE_FACTORIES:
            kind = factory._meta.model.__name__
            device = factory(id=next_id, home=home, name=f"{MARK}-{kind}-{h}")
            owner.device_ids.append(str(device.pk))
            next_id += 1
            if kind == "EnergyMeter" and not owner.meter_id:
                owner.meter_id = str(device.pk)
    meter_id = int(owner.meter_id)
    owner.meter_key = hardware.device_api_key_rotate(user_id=user.pk, device_id=meter_id).key
    now = datetime.now(UTC)
    Reading.objects.bulk_create(
        Reading(
            device_id=meter_id, measured_at=now - timedelta(minutes=i), received_at=now, seq=i,
            voltage_v=231.5, current_a=1.5, power_w=333.0, energy_wh=7770.0,
            frequency_hz=50.0, power_factor=0.9,
        )
        for i in range(1, 4)
    )  # fmt: skip
    for command in ("ping", "reboot"):
        cmd = DeviceCommand.objects.create(
            device_id=meter_id,
            command=command,
            args={},
            expires_at=now + timedelta(hours=1),
            next_attempt_at=now,
        )
        owner.command_ids.append(str(cmd.pk))
    AlertRule.objects.create(device_id=meter_id, power_max_w=100.0, offline=True)
    for offset, kind in enumerate(("power_high", "offline")):
        alert = Alert.objects.create(
            id=next_id + offset,
            device_id=meter_id,
            kind=kind,
            message=f"{MARK} alert {kind}",
            value=333.0,
            raised_at=now,
        )
        owner.alert_ids.append(str(alert.pk))
    return owner


def other_owner_rows(owner: OtherOwner) -> dict[str, Any]:
    """Everything of the second owner's, to compare before and after: nothing may change."""
    devices = Device.objects.filter(home__owner=owner.user).select_subclasses()  # type: ignore[attr-defined]
    homes = Home.objects.filter(owner=owner.user)
    return {
        "homes": sorted(
            (model_to_dict(h, exclude=["updated_at"]) for h in homes), key=lambda row: row["id"]
        ),
        "devices": sorted(
            (model_to_dict(d, exclude=["updated_at", "last_seen_at"]) for d in devices),
            key=lambda row: row["id"],
        ),
        "readings": list(
            Reading.objects.filter(device__home__owner=owner.user)
            .order_by("id")
            .values("device_id", "measured_at", "seq", "power_w")
        ),
        "commands": list(
            DeviceCommand.objects.filter(device__home__owner=owner.user)
            .order_by("id")
            .values("id", "command", "args", "status", "result")
        ),
        "alerts": list(
            Alert.objects.filter(device__home__owner=owner.user)
            .order_by("id")
            .values("id", "kind", "resolved_at")
        ),
        "rules": list(
            AlertRule.objects.filter(device__home__owner=owner.user).values(
                "device_id", "power_max_w", "voltage_min_v", "voltage_max_v", "battery_min_soc",
                "offline",
            )
        ),
    }  # fmt: skip


def leaks(value: Any, owner: OtherOwner, path: str = "") -> list[str]:
    """Where ``value`` (a decoded JSON answer) shows the second owner's ids or names."""
    found: list[str] = []
    ids = owner.ids
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}"
            if (key == "id" or key.lower().endswith("id")) and str(item) in ids:
                found.append(f"{here} = {item!r}")
            found.extend(leaks(item, owner, here))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(leaks(item, owner, f"{path}[{index}]"))
    elif isinstance(value, str) and (MARK in value or value == owner.meter_key):
        found.append(f"{path} = {value!r}")
    return found


def live_state_clear() -> None:
    """Empty the live-state database and the cache (login and telemetry limits included): a run
    of generated requests leaves hundreds of failed logins counted against 127.0.0.1, which the
    next test to log in over HTTP must not inherit."""
    redis.Redis.from_url(settings.REDIS_STATE_URL).flushdb()
    cache.clear()


def missing_uuid() -> str:
    return str(uuid.UUID(int=0x7770))
