"""A fleet's plans with the fallback: homes whose program has no solution follow the
greedy rule, and their status says so."""

from __future__ import annotations

import dataclasses

import numpy as np

from planner.greedy import greedy
from planner.optimize import optimize
from planner.outcome import (
    STATUS_FAILED,
    STATUS_FALLBACK,
    STATUS_INFEASIBLE,
    Plan,
    Setpoints,
)
from planner.problem import Fleet


def plan_fleet(fleet: Fleet) -> Plan:
    """The optimiser's plan per home, or the greedy rule's (status ``fallback``) where the
    program was infeasible or failed; homes with invalid inputs stay ``invalid``."""
    plan = optimize(fleet)
    failed = np.isin(plan.status, [STATUS_INFEASIBLE, STATUS_FAILED])
    if not failed.any():
        return plan
    baseline = greedy(fleet)
    rows = failed[:, None]
    setpoints = Setpoints(
        **{
            field.name: np.where(
                rows, getattr(baseline.setpoints, field.name), getattr(plan.setpoints, field.name)
            )
            for field in dataclasses.fields(Setpoints)
        }
    )

    def pick(name: str) -> np.ndarray:
        return np.where(failed, getattr(baseline, name), getattr(plan, name))

    return Plan(
        setpoints=setpoints,
        cost=pick("cost"),
        carbon_g=pick("carbon_g"),
        self_consumption=pick("self_consumption"),
        comfort_violation_k_h=pick("comfort_violation_k_h"),
        objective=pick("objective"),
        status=np.where(failed, STATUS_FALLBACK, plan.status),
        build_s=plan.build_s,
        solve_s=plan.solve_s,
    )
