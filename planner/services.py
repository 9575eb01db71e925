"""Writes of the planner: a home's goal, and its latest plan (made on demand, kept while
fresh). Every mistake is a field error; a home that is not the user's is "not found"."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
from django.db import DatabaseError, transaction

from devices.errors import ErrorCode, field_error, not_found
from devices.models import Battery, Device, Home
from planner import dispatch, selectors
from planner.fleet import plan_fleet
from planner.greedy import greedy
from planner.inputs import (
    HomeInputs,
    SharedReads,
    home_inputs,
    interval_start,
    shared_reads,
)
from planner.models import HomePlan, Objective, OptimizationGoal
from planner.outcome import STATUS_FALLBACK, STATUS_INVALID, Plan
from planner.problem import INTERVAL_S, fleet_concat

logger = logging.getLogger(__name__)

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
    dispatch.home_plan_request(home_id=home.pk)
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


def _figures(plan: Plan, row: int) -> dict[str, float | None]:
    def number(values: np.ndarray) -> float | None:
        value = float(values[row])
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


def _payload(inputs: HomeInputs, plan: Plan, baseline: Plan, *, row: int = 0) -> dict[str, Any]:
    """What the API answers, as JSON: per interval the home's flows, per device its power
    (and stored energy) per interval, the expected figures and the greedy baseline's. The
    home is row ``row`` of ``plan`` and ``baseline`` (``inputs`` are its own)."""
    sp = plan.setpoints
    devices = inputs.devices
    per_device: list[dict[str, Any]] = []
    for battery in devices.batteries:
        share = _share(battery, list(devices.batteries))
        per_device.append({
            "device_id": battery.pk, "kind": battery.kind, "name": battery.name,
            "power_w": _series(sp.battery_w[row] * share),
            "level_wh": _series(sp.battery_wh[row] * share),
        })  # fmt: skip
    if devices.vehicle is not None:
        car = devices.vehicle
        per_device.append({
            "device_id": car.pk, "kind": car.kind, "name": car.name,
            "power_w": _series(sp.vehicle_w[row]), "level_wh": _series(sp.vehicle_wh[row]),
        })  # fmt: skip
    groups: list[tuple[list[Any], np.ndarray]] = [
        (list(devices.heaters), sp.heater_w[row]),
        (list(devices.air_conditioners), sp.ac_w[row]),
        (list(devices.generators), sp.generator_w[row]),
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
        "expected": _figures(plan, row),
        "baseline": _figures(baseline, row),
        "intervals": {
            "grid_import_w": _series(sp.grid_import_w[row]),
            "grid_export_w": _series(sp.grid_export_w[row]),
            "curtailed_w": _series(sp.curtailed_w[row]),
            "pv_w": _series(inputs.fleet.forecasts.pv_w[0]),
            "base_load_w": _series(inputs.fleet.forecasts.base_load_w[0]),
            "indoor_c": _series(sp.indoor_c[row]),
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
    if _fresh(stored, digest, now):
        assert stored is not None
        return _view(stored, reused=True)
    made = _plans_make([_Pending(inputs, digest, 0.0)], now=now)
    if not made:
        msg = f"home {home.pk}: its plan could not be made or stored"
        raise RuntimeError(msg)
    return _view(made[0], reused=False)


def plans_refresh(*, home_ids: range | Sequence[int], now: datetime) -> dict[str, int]:
    """
    Plan every home of ``home_ids`` that has a goal, for the next 24 h from the interval
    holding ``now``: a stored plan made from the same inputs within ``PLAN_MAX_AGE`` is
    kept, every other home is planned, all of them in one fleet per objective. A home whose
    inputs cannot be read is logged and left out (``failed``); one whose inputs are out of
    range is stored ``invalid`` with its reason. Returns how many were ``planned``, ``kept``,
    ``invalid`` and ``failed``.
    """
    homes = Home.objects.filter(optimization_goal__isnull=False).select_related("optimization_goal")
    if isinstance(home_ids, range) and home_ids.step == 1:
        homes = homes.filter(pk__gte=home_ids.start, pk__lt=home_ids.stop)
    else:
        homes = homes.filter(pk__in=list(home_ids))
    found = list(homes.order_by("pk"))
    # Devices and tariffs read once for the range, signals once per region and tariff; each
    # home's reading time carries its share of that.
    started = time.perf_counter()
    try:
        shared: SharedReads | None = shared_reads(found)
    except Exception:
        logger.exception("planner: homes %s: shared reads failed; reading home by home", home_ids)
        shared = None
    shared_s = (time.perf_counter() - started) / max(len(found), 1)
    stored = {
        plan.home_id: plan
        for plan in HomePlan.objects.filter(home__in=[h.pk for h in found]).only(
            "home_id", "inputs_hash", "created_at"
        )
    }
    starts_at = interval_start(now)
    intervals = int(PLAN_HORIZON_HOURS * 3600 // INTERVAL_S)
    counts = {"planned": 0, "kept": 0, "invalid": 0, "failed": 0}
    pending: list[_Pending] = []
    for home in found:
        started = time.perf_counter()
        try:
            inputs = home_inputs(
                home=home,
                goal=home.optimization_goal,
                starts_at=starts_at,
                intervals=intervals,
                shared=shared,
            )
            digest = inputs.inputs_hash()
        except Exception:
            logger.exception("planner: home %s: inputs could not be read; not planned", home.pk)
            counts["failed"] += 1
            continue
        if _fresh(stored.get(home.pk), digest, now):
            counts["kept"] += 1
            continue
        pending.append(_Pending(inputs, digest, time.perf_counter() - started + shared_s))
    made = _plans_make(pending, now=now)
    counts["failed"] += len(pending) - len(made)
    counts["invalid"] = sum(plan.status == STATUS_INVALID for plan in made)
    counts["planned"] = len(made) - counts["invalid"]
    return counts


def plan_shards(*, shard_homes: int) -> list[tuple[int, int]]:
    """The ranges ``[k·S, (k+1)·S)`` of home ids (S = ``shard_homes``, the farm's shards)
    that hold a home with a goal, in order."""
    ids = OptimizationGoal.objects.values_list("home_id", flat=True)
    starts = sorted({int(home_id) - int(home_id) % shard_homes for home_id in ids})
    return [(start, start + shard_homes) for start in starts]


@dataclass(frozen=True, slots=True)
class _Pending:
    """A home to plan: its inputs, their hash and the seconds it took to read them."""

    inputs: HomeInputs
    digest: str
    inputs_s: float


def _fresh(stored: HomePlan | None, digest: str, now: datetime) -> bool:
    return (
        stored is not None
        and stored.inputs_hash == digest
        and now - stored.created_at < PLAN_MAX_AGE
    )


def _plans_make(pending: Sequence[_Pending], *, now: datetime) -> list[HomePlan]:
    """Solve the homes of ``pending`` together (one fleet per objective: a fleet has one),
    with the greedy baseline, and store each home's plan; returns the plans stored. A fleet
    that raises is solved again home by home, so one home's failure stays its own."""
    by_objective: dict[str, list[_Pending]] = {}
    for item in pending:
        by_objective.setdefault(str(item.inputs.fleet.objective), []).append(item)
    plans: list[HomePlan] = []
    for group in by_objective.values():
        try:
            plans += _plans_solve(group, now=now)
        except Exception:
            if len(group) == 1:
                logger.exception("planner: home %s: not planned", group[0].inputs.home.pk)
                continue
            logger.exception("planner: a fleet of %s homes failed; planning each alone", len(group))
            for item in group:
                try:
                    plans += _plans_solve([item], now=now)
                except Exception:
                    logger.exception("planner: home %s: not planned", item.inputs.home.pk)
    return _plans_store(plans)


def _plans_solve(group: Sequence[_Pending], *, now: datetime) -> list[HomePlan]:
    fleet = fleet_concat([item.inputs.fleet for item in group])
    plan = plan_fleet(fleet)
    baseline = greedy(fleet)
    made = []
    for row, item in enumerate(group):
        inputs = item.inputs
        payload = _payload(inputs, plan, baseline, row=row)
        payload["timing"] = {
            "inputs_s": item.inputs_s,
            "build_s": float(plan.build_s[row]),
            "solve_s": float(plan.solve_s[row]),
        }
        made.append(
            HomePlan(
                home=inputs.home,
                inputs_hash=item.digest,
                plan_hash=plan_hash(payload),
                objective=str(inputs.fleet.objective),
                status=str(plan.status[row]),
                starts_at=inputs.starts_at,
                created_at=now,
                payload=payload,
            )
        )
    return made


_STORED_FIELDS = ["inputs_hash", "plan_hash", "objective", "status", "starts_at", "created_at",
                  "payload"]  # fmt: skip
_STORE_BATCH = 200


def _plans_store(plans: list[HomePlan]) -> list[HomePlan]:
    """Insert or replace each home's plan (one row per home), a batch at a time; a batch that
    fails (a home deleted meanwhile) is stored row by row, and only its bad rows are lost."""
    stored: list[HomePlan] = []
    for first in range(0, len(plans), _STORE_BATCH):
        batch = plans[first : first + _STORE_BATCH]
        try:
            with transaction.atomic():
                _upsert(batch)
            stored += batch
        except DatabaseError:
            for plan in batch:
                try:
                    with transaction.atomic():
                        _upsert([plan])
                    stored.append(plan)
                except DatabaseError:
                    logger.exception("planner: home %s: plan not stored", plan.home_id)
    return stored


def _upsert(plans: list[HomePlan]) -> None:
    HomePlan.objects.bulk_create(
        plans, update_conflicts=True, unique_fields=["home"], update_fields=_STORED_FIELDS
    )


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
