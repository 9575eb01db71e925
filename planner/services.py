"""Writes of the planner: a home's goal, and its latest plan (made on demand, kept while
fresh). Every mistake is a field error; a home that is not the user's is "not found"."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
from django.db import transaction

from devices.errors import ErrorCode, field_error, not_found
from devices.models import Battery, Device, Home
from planner import selectors
from planner.fleet import plan_fleet
from planner.greedy import greedy
from planner.inputs import HomeInputs
from planner.models import HomePlan, Objective, OptimizationGoal
from planner.outcome import STATUS_FALLBACK, Plan
from planner.problem import INTERVAL_S

PLAN_HORIZON_HOURS = 24
PLAN_MAX_AGE = timedelta(minutes=15)
"""A stored plan is answered again while younger than this and made from the same inputs."""


@transaction.atomic
def goal_set(
    *,
    user_id: int,
    home_id: int | str,
    objective: str,
    grid_import_max_w: float | None = None,
    grid_export_max_w: float | None = None,
) -> OptimizationGoal:
    """Set what the plans of one of the user's homes minimise; nothing is stored on a
    mistake. A limit left out keeps its stored (or default) value."""
    try:
        home = selectors.home_get(user_id=user_id, home_id=home_id)
    except Home.DoesNotExist:
        raise not_found("home_id", "Home") from None
    if objective not in Objective.values:
        choices = ", ".join(Objective.values)
        raise field_error("objective", f"Choose one of {choices}.", code=ErrorCode.UNKNOWN)
    goal = OptimizationGoal.objects.select_for_update().filter(
        home=home
    ).first() or OptimizationGoal(home=home)
    goal.objective = objective
    for name, value in (
        ("grid_import_max_w", grid_import_max_w),
        ("grid_export_max_w", grid_export_max_w),
    ):
        if value is None:
            continue
        if not math.isfinite(value):
            raise field_error(name, "Must be a finite number.", code=ErrorCode.NOT_FINITE)
        setattr(goal, name, value)
    goal.full_clean(exclude=("home",), validate_constraints=False)
    goal.save()
    return goal


@dataclass(frozen=True, slots=True)
class PlanView:
    """A home's plan as its owner sees it (``payload`` as stored)."""

    home_id: int
    objective: str
    status: str
    inputs_hash: str
    starts_at: datetime
    created_at: datetime
    payload: dict[str, Any]
    reused: bool


def _figures(plan: Plan) -> dict[str, float | None]:
    def number(values: np.ndarray) -> float | None:
        value = float(values[0])
        return value if math.isfinite(value) else None

    return {
        "cost": number(plan.cost),
        "carbon_g": number(plan.carbon_g),
        "self_consumption": number(plan.self_consumption),
        "comfort_violation_k_h": number(plan.comfort_violation_k_h),
    }


def _share(device: Device, devices: list[Any]) -> float:
    def weight(d: Any) -> float:
        return float(d.capacity_wh if isinstance(d, Battery) else d.rated_power_w)

    total = sum(weight(d) for d in devices)
    return weight(device) / total if total > 0 else 0.0


def _series(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def _payload(inputs: HomeInputs, plan: Plan, baseline: Plan) -> dict[str, Any]:
    """What the API answers, as JSON: per interval the home's flows, per device its power
    (and stored energy) per interval, the expected figures and the greedy baseline's."""
    sp = plan.setpoints
    devices = inputs.devices
    per_device: list[dict[str, Any]] = []
    for battery in devices.batteries:
        share = _share(battery, list(devices.batteries))
        per_device.append({
            "device_id": battery.pk, "kind": battery.kind, "name": battery.name,
            "power_w": _series(sp.battery_w[0] * share),
            "level_wh": _series(sp.battery_wh[0] * share),
        })  # fmt: skip
    if devices.vehicle is not None:
        car = devices.vehicle
        per_device.append({
            "device_id": car.pk, "kind": car.kind, "name": car.name,
            "power_w": _series(sp.vehicle_w[0]), "level_wh": _series(sp.vehicle_wh[0]),
        })  # fmt: skip
    groups: list[tuple[list[Any], np.ndarray]] = [
        (list(devices.heaters), sp.heater_w[0]),
        (list(devices.air_conditioners), sp.ac_w[0]),
        (list(devices.generators), sp.generator_w[0]),
    ]
    for group, power in groups:
        for device in group:
            per_device.append({
                "device_id": device.pk, "kind": device.kind, "name": device.name,
                "power_w": _series(power * _share(device, group)), "level_wh": None,
            })  # fmt: skip
    invalid = inputs.fleet.invalid_homes()[0]
    return {
        "currency": inputs.currency,
        "interval_s": INTERVAL_S,
        "reason": str(invalid) or None,
        "expected": _figures(plan),
        "baseline": _figures(baseline),
        "intervals": {
            "grid_import_w": _series(sp.grid_import_w[0]),
            "grid_export_w": _series(sp.grid_export_w[0]),
            "curtailed_w": _series(sp.curtailed_w[0]),
            "pv_w": _series(inputs.fleet.forecasts.pv_w[0]),
            "base_load_w": _series(inputs.fleet.forecasts.base_load_w[0]),
            "indoor_c": _series(sp.indoor_c[0]),
            "import_price_per_kwh": _series(inputs.fleet.signals.import_price_per_kwh[0]),
            "carbon_g_per_kwh": _series(inputs.fleet.signals.carbon_g_per_kwh[0]),
        },
        "devices": per_device,
    }


@transaction.atomic
def plan_get_or_make(*, user_id: int, home_id: int | str, now: datetime) -> PlanView:
    """
    The plan of one of the user's homes for the next 24 h: the stored one while it is younger
    than ``PLAN_MAX_AGE`` and was made from the same inputs, a new one otherwise (solved with
    the fleet planner, which falls back to the greedy rule and says so). ``Home.DoesNotExist``
    when the home is not the user's.
    """
    home = selectors.home_get(user_id=user_id, home_id=home_id)
    inputs = selectors.home_forecast(
        user_id=user_id, home_id=home.pk, now=now, hours=PLAN_HORIZON_HOURS
    )
    digest = inputs.inputs_hash()
    # The home's row is the lock: two first requests for a plan make one, not a conflict.
    Home.objects.select_for_update().filter(pk=home.pk).first()
    stored = HomePlan.objects.filter(home=home).first()
    if (
        stored is not None
        and stored.inputs_hash == digest
        and now - stored.created_at < PLAN_MAX_AGE
    ):
        return _view(stored, reused=True)
    plan = plan_fleet(inputs.fleet)
    baseline = greedy(inputs.fleet)
    status = str(plan.status[0])
    payload = _payload(inputs, plan, baseline)
    values = {
        "inputs_hash": digest,
        "plan_hash": plan_hash(payload),
        "objective": str(inputs.fleet.objective),
        "status": status,
        "starts_at": inputs.starts_at,
        "created_at": now,
        "payload": payload,
    }
    if stored is None:
        stored = HomePlan.objects.create(home=home, **values)
    else:
        for name, value in values.items():
            setattr(stored, name, value)
        stored.save()
    return _view(stored, reused=False)


def plan_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of a plan's setpoints: every device's power per interval, and the start."""
    devices = [(d["device_id"], d["power_w"]) for d in payload["devices"]]
    return hashlib.sha256(orjson.dumps(devices)).hexdigest()


def _view(stored: HomePlan, *, reused: bool) -> PlanView:
    return PlanView(
        home_id=stored.home_id,
        objective=stored.objective,
        status=stored.status,
        inputs_hash=stored.inputs_hash,
        starts_at=stored.starts_at,
        created_at=stored.created_at,
        payload=stored.payload,
        reused=reused,
    )


def is_fallback(status: str) -> bool:
    """Whether the greedy rule planned because the optimiser found no solution."""
    return status == STATUS_FALLBACK
