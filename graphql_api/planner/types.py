"""Types of goals, forecasts and plans."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import strawberry

from planner.inputs import HomeInputs
from planner.models import Objective as ObjectiveChoices
from planner.models import OptimizationGoal
from planner.services import PlanView, is_fallback


@strawberry.enum(
    name="OptimizationObjective",
    description="COST: the cheapest plan; CARBON: the least emissions (the cheaper of equal "
    "plans); SELF_CONSUMPTION: the least energy exchanged with the grid.",
)
class OptimizationObjective(Enum):
    COST = ObjectiveChoices.COST.value
    CARBON = ObjectiveChoices.CARBON.value
    SELF_CONSUMPTION = ObjectiveChoices.SELF_CONSUMPTION.value


@strawberry.input(name="OptimizationGoalInput")
class OptimizationGoalInput:
    objective: OptimizationObjective
    grid_import_max_w: float | None = strawberry.field(
        default=None, description="The most the home may import. [W] Null keeps the stored value."
    )
    grid_export_max_w: float | None = strawberry.field(
        default=None, description="The most the home may export. [W] Null keeps the stored value."
    )


@strawberry.type(name="OptimizationGoal", description="What a home's plans minimise.")
class OptimizationGoalType:
    home_id: strawberry.ID
    objective: OptimizationObjective
    grid_import_max_w: float
    grid_export_max_w: float
    updated_at: datetime

    @classmethod
    def of(cls, goal: OptimizationGoal) -> OptimizationGoalType:
        return cls(
            home_id=strawberry.ID(str(goal.home_id)),
            objective=OptimizationObjective(goal.objective),
            grid_import_max_w=goal.grid_import_max_w,
            grid_export_max_w=goal.grid_export_max_w,
            updated_at=goal.updated_at,
        )


@strawberry.type(name="ForecastInterval", description="A home's forecast over [start, end).")
class ForecastIntervalType:
    start: datetime
    end: datetime
    pv_w: float = strawberry.field(description="Solar production. [W]")
    base_load_w: float = strawberry.field(description="Household base load. [W]")
    heating_w: float = strawberry.field(description="Heating that holds the setpoints. [W]")
    cooling_w: float = strawberry.field(description="Cooling that holds the setpoints. [W]")
    vehicle_home: bool | None = strawberry.field(
        description="The planned car is plugged in at home; null without a car."
    )
    vehicle_driving_wh: float = strawberry.field(description="Energy the car drives. [Wh]")
    import_price_per_kwh: float
    export_price_per_kwh: float
    carbon_intensity: float = strawberry.field(description="[gCO2e/kWh]")
    temperature_c: float = strawberry.field(description="Outdoor temperature. [°C]")
    cloud_cover: float = strawberry.field(description="0..1 [-]")


@strawberry.type(name="Forecast", description="A home's next hours, per 15-minute interval.")
class ForecastType:
    home_id: strawberry.ID
    currency: str
    intervals: list[ForecastIntervalType]

    @classmethod
    def of(cls, inputs: HomeInputs) -> ForecastType:
        fleet = inputs.fleet
        sig, ev = fleet.signals, fleet.vehicles
        rows = []
        for t, (start, end) in enumerate(inputs.interval_bounds()):
            rows.append(
                ForecastIntervalType(
                    start=start,
                    end=end,
                    pv_w=float(fleet.forecasts.pv_w[0, t]),
                    base_load_w=float(fleet.forecasts.base_load_w[0, t]),
                    heating_w=float(inputs.heating_w[t]),
                    cooling_w=float(inputs.cooling_w[t]),
                    vehicle_home=(
                        None if inputs.vehicle_home is None else bool(inputs.vehicle_home[t])
                    ),
                    vehicle_driving_wh=float(ev.driving_wh[0, t]),
                    import_price_per_kwh=float(sig.import_price_per_kwh[0, t]),
                    export_price_per_kwh=float(sig.export_price_per_kwh[0, t]),
                    carbon_intensity=float(sig.carbon_g_per_kwh[0, t]),
                    temperature_c=float(sig.outdoor_c[0, t]),
                    cloud_cover=float(inputs.cloud_cover[t]),
                )
            )
        return cls(
            home_id=strawberry.ID(str(inputs.home.pk)), currency=inputs.currency, intervals=rows
        )


@strawberry.type(name="PlanOutcome", description="What a plan is expected to give over its day.")
class PlanOutcomeType:
    cost: float | None = strawberry.field(description="Imports and fuel less exports. [currency]")
    carbon_g: float | None = strawberry.field(description="Imports' and fuel's emissions. [g]")
    self_consumption: float | None = strawberry.field(
        description="Share of the solar production used at home. [-]"
    )
    comfort_violation_k_h: float | None = strawberry.field(
        description="Kelvin-hours outside the comfort band. [K·h]"
    )

    @classmethod
    def of(cls, figures: dict[str, Any]) -> PlanOutcomeType:
        return cls(**figures)


@strawberry.type(name="PlanInterval", description="The home's planned flows over [start, end).")
class PlanIntervalType:
    start: datetime
    end: datetime
    grid_import_w: float | None
    grid_export_w: float | None
    curtailed_w: float | None = strawberry.field(description="Solar left unused. [W]")
    pv_w: float | None
    base_load_w: float | None
    indoor_c: float | None = strawberry.field(description="Expected indoor temperature. [°C]")


@strawberry.type(name="DevicePlan", description="One device's setpoints, one per interval.")
class DevicePlanType:
    device_id: strawberry.ID
    kind: str
    name: str
    power_w: list[float | None] = strawberry.field(
        description="Power per interval: > 0 draws (charges), < 0 delivers; a generator's "
        "output is positive. [W]"
    )
    level_wh: list[float | None] | None = strawberry.field(
        description="Stored energy at each interval's end (batteries, cars). [Wh]"
    )


@strawberry.type(name="Plan", description="A home's plan for the next 24 hours.")
class PlanType:
    home_id: strawberry.ID
    objective: OptimizationObjective
    status: str = strawberry.field(
        description='"optimal"; "fallback": the program had no solution (e.g. a car target it '
        'cannot reach) and the greedy rule planned; "invalid": the inputs are out of range '
        "(`reason` says which) and nothing was planned."
    )
    fallback: bool = strawberry.field(description="True when the greedy rule planned.")
    reason: str | None
    currency: str
    inputs_hash: str = strawberry.field(description="SHA-256 of the inputs the plan is made from.")
    starts_at: datetime
    created_at: datetime
    interval_minutes: int
    expected: PlanOutcomeType
    baseline: PlanOutcomeType = strawberry.field(
        description="The same day under the greedy rule (the farm's rule today)."
    )
    expected_cost_saving: float | None = strawberry.field(
        description="baseline.cost - expected.cost. [currency]"
    )
    expected_carbon_saving_g: float | None = strawberry.field(
        description="baseline.carbonG - expected.carbonG. [g]"
    )
    intervals: list[PlanIntervalType]
    devices: list[DevicePlanType]

    @classmethod
    def of(cls, view: PlanView) -> PlanType:
        payload = view.payload
        step = float(payload["interval_s"])
        flows = payload["intervals"]
        count = len(flows["grid_import_w"])
        expected, baseline = payload["expected"], payload["baseline"]

        def saving(name: str) -> float | None:
            if expected[name] is None or baseline[name] is None:
                return None
            return float(baseline[name] - expected[name])

        return cls(
            home_id=strawberry.ID(str(view.home_id)),
            objective=OptimizationObjective(view.objective),
            status=view.status,
            fallback=is_fallback(view.status),
            reason=payload["reason"],
            currency=payload["currency"],
            inputs_hash=view.inputs_hash,
            starts_at=view.starts_at,
            created_at=view.created_at,
            interval_minutes=int(step // 60),
            expected=PlanOutcomeType.of(expected),
            baseline=PlanOutcomeType.of(baseline),
            expected_cost_saving=saving("cost"),
            expected_carbon_saving_g=saving("carbon_g"),
            intervals=[
                PlanIntervalType(
                    start=view.starts_at + timedelta(seconds=step * t),
                    end=view.starts_at + timedelta(seconds=step * (t + 1)),
                    **{name: values[t] for name, values in flows.items()},
                )
                for t in range(count)
            ],
            devices=[
                DevicePlanType(
                    device_id=strawberry.ID(str(d["device_id"])),
                    kind=d["kind"],
                    name=d["name"],
                    power_w=d["power_w"],
                    level_wh=d["level_wh"],
                )
                for d in payload["devices"]
            ],
        )
