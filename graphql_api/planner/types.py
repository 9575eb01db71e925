"""Types of goals, forecasts, plans, decisions and savings."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import strawberry

from planner.inputs import HomeInputs
from planner.models import Decision, OptimizationGoal
from planner.models import Objective as ObjectiveChoices
from planner.selectors import Savings
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
    import_price_per_kwh: float | None = strawberry.field(
        default=None, description="The price the plan was made with. [currency/kWh]"
    )
    carbon_g_per_kwh: float | None = strawberry.field(
        default=None, description="The grid's carbon intensity the plan was made with. [g/kWh]"
    )


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


@strawberry.type(
    name="Decision",
    description="One action a followed plan applied to one device over [intervalStart, "
    "intervalEnd), and why.",
)
class DecisionType:
    interval_start: datetime
    interval_end: datetime
    device_id: strawberry.ID
    device_name: str
    device_kind: str
    action: str = strawberry.field(
        description="charge, discharge or idle (stores); heat, cool or off; run or stop."
    )
    power_w: float = strawberry.field(description="The plan's setpoint, > 0 drawing. [W]")
    objective: OptimizationObjective
    expected_cost: float = strawberry.field(
        description="What the action's energy costs at the interval's import price; < 0 when "
        "it gives the home energy. [currency]"
    )
    expected_carbon_g: float = strawberry.field(
        description="The action's energy at the interval's carbon intensity. [gCO2e]"
    )
    source: str = strawberry.field(
        description='"simulated": applied by the farm; "command": sent to a physical device.'
    )
    command_id: strawberry.ID | None
    plan_hash: str = strawberry.field(description="SHA-256 of the plan's setpoints.")
    inputs_hash: str = strawberry.field(description="SHA-256 of the plan's inputs.")

    @classmethod
    def of(cls, decision: Decision) -> DecisionType:
        return cls(
            interval_start=decision.interval_start,
            interval_end=decision.interval_end,
            device_id=strawberry.ID(str(decision.device_id)),
            device_name=decision.device.name,
            device_kind=decision.device.kind,
            action=decision.action,
            power_w=decision.power_w,
            objective=OptimizationObjective(decision.objective),
            expected_cost=decision.expected_cost,
            expected_carbon_g=decision.expected_carbon_g,
            source=decision.source,
            command_id=(
                None if decision.command_id is None else strawberry.ID(str(decision.command_id))
            ),
            plan_hash=decision.plan_hash,
            inputs_hash=decision.inputs_hash,
        )


@strawberry.type(
    name="SavingsHour",
    description="One hour's savings against the greedy twin and the running totals from the "
    "range's start (the hours without a goal left out).",
)
class SavingsHourType:
    start: datetime
    hours: float = strawberry.field(description="Time with a goal in this hour. [h]")
    cost_saved: float = strawberry.field(description="[currency]")
    carbon_saved_g: float = strawberry.field(description="[gCO2e]")
    cumulative_cost_saved: float = strawberry.field(description="[currency]")
    cumulative_carbon_saved_g: float = strawberry.field(description="[gCO2e]")


@strawberry.type(
    name="Savings",
    description="What a home's plans realised against its greedy twin (the farm's rule on the "
    "same home, weather and prices) over the ticks it had a goal: measured, not estimated.",
)
class SavingsType:
    home_id: strawberry.ID
    from_: datetime = strawberry.field(name="from")
    to: datetime
    currency: str
    ticks: int = strawberry.field(description="History rows with a goal in the range.")
    hours: float = strawberry.field(description="Time covered by those rows. [h]")
    first_tick_at: datetime | None = strawberry.field(description="End of the first such tick.")
    last_tick_at: datetime | None = strawberry.field(description="End of the last such tick.")
    cost: float = strawberry.field(description="Import cost less export revenue. [currency]")
    baseline_cost: float = strawberry.field(description="The same for the twin. [currency]")
    cost_saved: float = strawberry.field(description="baselineCost - cost. [currency]")
    carbon_g: float = strawberry.field(description="Carbon emitted by imports. [gCO2e]")
    baseline_carbon_g: float = strawberry.field(description="The same for the twin. [gCO2e]")
    carbon_saved_g: float = strawberry.field(description="baselineCarbonG - carbonG. [gCO2e]")
    solar_mae_w: float | None = strawberry.field(
        description="Mean absolute error of the followed plans' solar forecast per tick; null "
        "without a forecast beside an actual. [W]"
    )
    base_load_mae_w: float | None = strawberry.field(
        description="Mean absolute error of the followed plans' base-load forecast. [W]"
    )
    hourly: list[SavingsHourType] = strawberry.field(
        description="Per UTC hour holding rows, oldest first."
    )

    @classmethod
    def of(cls, savings: Savings) -> SavingsType:
        return cls(
            home_id=strawberry.ID(str(savings.home_id)),
            from_=savings.start,
            to=savings.end,
            currency=savings.currency,
            ticks=savings.ticks,
            hours=savings.hours,
            first_tick_at=savings.first_tick_at,
            last_tick_at=savings.last_tick_at,
            cost=savings.cost,
            baseline_cost=savings.baseline_cost,
            cost_saved=savings.cost_saved,
            carbon_g=savings.carbon_g,
            baseline_carbon_g=savings.baseline_carbon_g,
            carbon_saved_g=savings.carbon_saved_g,
            solar_mae_w=savings.solar_mae_w,
            base_load_mae_w=savings.base_load_mae_w,
            hourly=[
                SavingsHourType(
                    start=b.start,
                    hours=b.hours,
                    cost_saved=b.cost_saved,
                    carbon_saved_g=b.carbon_saved_g,
                    cumulative_cost_saved=b.cumulative_cost_saved,
                    cumulative_carbon_saved_g=b.cumulative_carbon_saved_g,
                )
                for b in savings.buckets
            ],
        )
