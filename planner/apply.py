"""
Plans to physical devices: in each 15-minute interval every physical battery, car, heater,
air conditioner and generator of a home with a goal gets its plan's power for the interval as
a ``set_power`` command (the devices' command lifecycle: pending, sent over MQTT, acknowledged
or expired), and one ``Decision`` (source ``command``) records it with the plan and inputs it
came from and its expected cost and carbon. Once per device and interval: the Decision's
unique (device, interval start) is checked under the device's row lock.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from devices import hardware
from devices.models import Device, DeviceKind, DeviceSource
from planner.decisions import action_names, expected_effect
from planner.inputs import interval_start
from planner.models import Decision, DecisionSource, HomePlan
from planner.outcome import STATUS_INVALID
from planner.problem import INTERVAL_S

logger = logging.getLogger(__name__)

PLANNED_KINDS = (
    DeviceKind.BATTERY, DeviceKind.ELECTRIC_VEHICLE, DeviceKind.HEATER,
    DeviceKind.AIR_CONDITIONER, DeviceKind.GENERATOR,
)  # fmt: skip


def plans_apply(*, now: datetime) -> dict[str, int]:
    """
    Send every physical planned device whose interval holding ``now`` has no Decision yet its
    plan's action for that interval. Returns how many were ``sent`` (a command stored, and
    published when the device is online) and ``skipped`` (no setpoint for the interval: the
    plan does not cover it, names no power, or is invalid). A device that fails is logged and
    the others go on.
    """
    start = interval_start(now)
    end = start + timedelta(seconds=INTERVAL_S)
    devices = list(
        Device.objects.filter(
            source=DeviceSource.PHYSICAL,
            kind__in=PLANNED_KINDS,
            home__optimization_goal__isnull=False,
            home__plan__isnull=False,
        )
        .exclude(decisions__interval_start=start)
        .order_by("pk")
    )
    plans = {
        plan.home_id: plan
        for plan in HomePlan.objects.filter(home_id__in={d.home_id for d in devices}).exclude(
            status=STATUS_INVALID
        )
    }
    counts = {"sent": 0, "skipped": 0}
    for device in devices:
        plan = plans.get(device.home_id)
        step = _setpoint(plan, device, start) if plan is not None else None
        if plan is None or step is None:
            counts["skipped"] += 1
            continue
        try:
            counts["sent"] += _decide(device, plan, step, start=start, end=end, now=now)
        except Exception:
            logger.exception("planner: device %s: the plan's action was not sent", device.pk)
    return counts


def _setpoint(plan: HomePlan, device: Device, start: datetime) -> tuple[float, float, float] | None:
    """The plan's power for ``device`` in the interval starting at ``start`` and the interval's
    import price and carbon intensity; None where the plan has none."""
    t = (start - plan.starts_at) / timedelta(seconds=INTERVAL_S)
    payload: dict[str, Any] = plan.payload
    entry = next((d for d in payload["devices"] if d["device_id"] == device.pk), None)
    if entry is None or t != int(t) or not 0 <= t < len(entry["power_w"]):
        return None
    index = int(t)
    intervals = payload["intervals"]
    values = (
        entry["power_w"][index],
        intervals["import_price_per_kwh"][index],
        intervals["carbon_g_per_kwh"][index],
    )
    if any(value is None or not math.isfinite(value) for value in values):
        return None
    return float(values[0]), float(values[1]), float(values[2])


def _decide(
    device: Device,
    plan: HomePlan,
    step: tuple[float, float, float],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
) -> bool:
    power_w, price, carbon = step
    cost, carbon_g = expected_effect(
        device.kind,
        power_w,
        import_price_per_kwh=price,
        carbon_g_per_kwh=carbon,
        interval_s=INTERVAL_S,
    )
    with transaction.atomic():
        # The device's row is the lock: a second run in the interval waits, then finds the
        # Decision and sends nothing.
        if Device.objects.select_for_update().filter(pk=device.pk).first() is None:
            return False
        if Decision.objects.filter(device_id=device.pk, interval_start=start).exists():
            return False
        command = hardware.command_issue(
            device=device,
            command="set_power",
            args={"power_w": power_w, "until": end.isoformat()},
            now=now,
            after_commit=True,
        )
        Decision.objects.create(
            home_id=device.home_id,
            device_id=device.pk,
            interval_start=start,
            interval_end=end,
            action=str(action_names(device.kind, power_w)),
            power_w=power_w,
            objective=plan.objective,
            plan_hash=plan.plan_hash,
            inputs_hash=plan.inputs_hash,
            expected_cost=float(cost),
            expected_carbon_g=float(carbon_g),
            source=DecisionSource.COMMAND,
            command=command,
        )
    return True
