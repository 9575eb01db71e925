"""
The day-ahead plan of every home of a fleet: one linear (mixed-integer where a generator
runs) program per home, built as arrays and solved with HiGHS.

Every home of a fleet shares one sparsity pattern: 16 blocks of T columns and 8 blocks
of T rows (see ``docs/architecture.md``, "The planner", for the formulation). A device a
home lacks keeps its columns with both bounds 0, which HiGHS's presolve removes. So the
matrix of many homes (``BUILD_HOMES`` at a time) is built at once with numpy index
arithmetic: its row and column indices once, its coefficients as an (H, nnz) array; the
compressed-column order is one permutation shared by every home. A home's program is then
a row of each array, handed to HiGHS in one ``passModel`` call.

The plan minimises, per home and summed over intervals of length Δt (h = Δt in hours):

    w_cost·(p_imp·E_imp - min(p_exp, p_imp)·E_exp + p_fuel·E_gen)
    + w_carbon·(c_grid·E_imp + c_gen·E_gen)/1000 + w_sc·(E_imp + E_exp)
    + penalty·h·(slack_low + slack_high) + wear·(E_bat_out + E_car_out)

with E = P·h/1000 in kWh. Exports are paid at most the import price, so importing to
export is never worth anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt

from planner.outcome import (
    STATUS_FAILED,
    STATUS_INFEASIBLE,
    STATUS_INVALID,
    STATUS_OPTIMAL,
    Plan,
    Setpoints,
    evaluate,
    per_home_column,
    per_interval,
)
from planner.problem import BoolArray, Fleet, FloatArray, objective_weights

IntArray = npt.NDArray[np.int32]

# Column blocks, each T wide, in this order.
IMP, EXP, CURT, BC, BD, BS, EC, ED, ES, PH, PC, TIN, SLO, SHI, GU, GP = range(16)
COLUMN_BLOCKS = 16
# Row blocks, each T tall.
BALANCE, BATTERY, VEHICLE, BUILDING, COMFORT_LOW, COMFORT_HIGH, GEN_MAX, GEN_MIN = range(8)
ROW_BLOCKS = 8


DEFAULT_TIME_LIMIT_S = 10.0
MIP_RELATIVE_GAP = 1e-4
OBJECTIVE_SCALE = 1e3
"""HiGHS sees the objective times this. Its coefficients are per W and interval (an energy
price of 0.30 per kWh is 7.5e-5, the storage wear 2.5e-7): close to the solver's dual
feasibility tolerance (1e-7), so an "optimal" basis could be off by a percent of a small
objective, and a warm start then ended on another vertex than a cold one. Scaled, every
price is well above it."""
_INF = highspy.kHighsInf


@dataclass(frozen=True, slots=True)
class Programs:
    """The fleet's programs in compressed-column form; row h of each (H, ·) array is home h."""

    intervals: int
    start: IntArray
    index: IntArray
    value: FloatArray
    cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    integer: BoolArray

    @property
    def columns(self) -> int:
        return COLUMN_BLOCKS * self.intervals

    @property
    def rows(self) -> int:
        return ROW_BLOCKS * self.intervals


def build(fleet: Fleet) -> Programs:
    """Every home's program as arrays, vectorised over homes and intervals."""
    fleet.validate()
    homes, steps = fleet.homes, fleet.intervals
    hours = fleet.dt_s / 3600.0
    kwh_per_w = hours / 1000.0
    sig, fc = fleet.signals, fleet.forecasts
    bat, ev, th, gen = fleet.batteries, fleet.vehicles, fleet.thermal, fleet.generators
    ones = np.ones((homes, steps))

    def home(values: npt.ArrayLike) -> FloatArray:
        return per_home_column(values, homes)

    # Coefficients of absent devices stay non-zero (their columns are fixed at 0 anyway),
    # so every home keeps the same pattern without explicit zeros.
    bat_on, ev_on = home(bat.present) > 0, home(ev.present) > 0
    heat_on, cool_on = home(th.heater_present) > 0, home(th.ac_present) > 0
    gen_on = home(gen.present) > 0
    bat_eta_c = np.where(bat_on, home(bat.charge_efficiency), 1.0)
    bat_eta_d = np.where(bat_on, home(bat.discharge_efficiency), 1.0)
    ev_eta_c = np.where(ev_on, home(ev.charge_efficiency), 1.0)
    ev_eta_d = np.where(ev_on, home(ev.discharge_efficiency), 1.0)
    a = np.where(heat_on | cool_on, home(th.a), 0.5)
    b_h = np.where(heat_on, home(th.heating_k_per_w), 1.0)
    b_c = np.where(cool_on, home(th.cooling_k_per_w), 1.0)
    rated = np.where(gen_on, home(gen.rated_power_w), 1.0)
    minimum = np.where(gen_on, np.maximum(home(gen.min_output_w), 1e-9), 1.0)

    # (row block, column block, shift, coefficients (H, T)); shift -1 couples interval t to
    # the column of t - 1 and has no entry at t = 0.
    entries: list[tuple[int, int, int, FloatArray]] = [
        (BALANCE, IMP, 0, ones),
        (BALANCE, EXP, 0, -ones),
        (BALANCE, CURT, 0, -ones),
        (BALANCE, BC, 0, -ones),
        (BALANCE, BD, 0, ones),
        (BALANCE, EC, 0, -ones),
        (BALANCE, ED, 0, ones),
        (BALANCE, PH, 0, -ones),
        (BALANCE, PC, 0, -ones),
        (BALANCE, GP, 0, ones),
        (BATTERY, BS, 0, ones),
        (BATTERY, BS, -1, -ones),
        (BATTERY, BC, 0, -bat_eta_c * hours * ones),
        (BATTERY, BD, 0, hours / bat_eta_d * ones),
        (VEHICLE, ES, 0, ones),
        (VEHICLE, ES, -1, -ones),
        (VEHICLE, EC, 0, -ev_eta_c * hours * ones),
        (VEHICLE, ED, 0, hours / ev_eta_d * ones),
        (BUILDING, TIN, 0, ones),
        (BUILDING, TIN, -1, -a * ones),
        (BUILDING, PH, 0, -b_h * ones),
        (BUILDING, PC, 0, b_c * ones),
        (COMFORT_LOW, TIN, 0, ones),
        (COMFORT_LOW, SLO, 0, ones),
        (COMFORT_HIGH, TIN, 0, ones),
        (COMFORT_HIGH, SHI, 0, -ones),
        (GEN_MAX, GP, 0, ones),
        (GEN_MAX, GU, 0, -rated * ones),
        (GEN_MIN, GP, 0, ones),
        (GEN_MIN, GU, 0, -minimum * ones),
    ]
    rows, cols, vals = [], [], []
    t_all = np.arange(steps)
    for row_block, col_block, shift, coefficients in entries:
        t = t_all if shift == 0 else t_all[1:]
        rows.append(row_block * steps + t)
        cols.append(col_block * steps + t + shift)
        vals.append(coefficients[:, t])
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    value = np.concatenate(vals, axis=1)
    order = np.lexsort((row, col))
    columns = COLUMN_BLOCKS * steps
    start = np.searchsorted(col[order], np.arange(columns + 1)).astype(np.int32)

    lower = np.zeros((homes, COLUMN_BLOCKS, steps))
    upper = np.zeros((homes, COLUMN_BLOCKS, steps))
    row_lower = np.zeros((homes, ROW_BLOCKS, steps))
    row_upper = np.zeros((homes, ROW_BLOCKS, steps))
    cost = np.zeros((homes, COLUMN_BLOCKS, steps))

    pv = np.maximum(per_interval(fc.pv_w, homes, steps), 0.0)
    load = per_interval(fc.base_load_w, homes, steps)
    upper[:, IMP] = np.maximum(home(fleet.grid_import_max_w), 0.0)
    upper[:, EXP] = np.maximum(home(fleet.grid_export_max_w), 0.0)
    upper[:, CURT] = pv
    row_lower[:, BALANCE] = row_upper[:, BALANCE] = load - pv

    capacity = np.where(bat_on, np.maximum(home(bat.capacity_wh), 0.0), 0.0)
    level0 = np.clip(home(bat.initial_soc), 0.0, 1.0) * capacity
    floor = np.minimum(np.clip(home(bat.min_soc), 0.0, 1.0) * capacity, level0)
    upper[:, BC] = np.where(bat_on, np.maximum(home(bat.max_charge_w), 0.0), 0.0)
    upper[:, BD] = np.where(bat_on, np.maximum(home(bat.max_discharge_w), 0.0), 0.0)
    lower[:, BS] = floor
    upper[:, BS] = capacity
    if fleet.hold_storage_levels:
        lower[:, BS, -1] = level0[:, 0]
    row_lower[:, BATTERY, 0] = row_upper[:, BATTERY, 0] = level0[:, 0]

    ev_capacity = np.where(ev_on, np.maximum(home(ev.capacity_wh), 0.0), 0.0)
    ev_home = np.asarray(per_interval(ev.home, homes, steps), dtype=bool) & ev_on
    driving = np.where(
        ev_on & ~ev_home, np.maximum(per_interval(ev.driving_wh, homes, steps), 0.0), 0.0
    )
    upper[:, EC] = np.where(ev_home, np.maximum(home(ev.max_charge_w), 0.0), 0.0)
    upper[:, ED] = np.where(
        ev_home & (home(ev.v2h) > 0), np.maximum(home(ev.max_discharge_w), 0.0), 0.0
    )
    target = per_interval(ev.target_soc, homes, steps)
    lower[:, ES] = np.where(ev_on & np.isfinite(target), np.nan_to_num(target) * ev_capacity, 0.0)
    upper[:, ES] = ev_capacity
    row_lower[:, VEHICLE] = row_upper[:, VEHICLE] = -driving
    ev_level0 = np.clip(home(ev.initial_soc), 0.0, 1.0) * ev_capacity
    if fleet.hold_storage_levels:
        lower[:, ES, -1] = np.where(
            ev_home[:, -1], np.maximum(lower[:, ES, -1], ev_level0[:, 0]), lower[:, ES, -1]
        )
    row_lower[:, VEHICLE, 0] = row_upper[:, VEHICLE, 0] = ev_level0[:, 0] - driving[:, 0]

    thermal_on = heat_on | cool_on
    outdoor = per_interval(sig.outdoor_c, homes, steps)
    indoor0 = np.where(thermal_on, home(th.initial_indoor_c), 0.0)
    upper[:, PH] = np.where(heat_on, np.maximum(home(th.heater_max_w), 0.0), 0.0)
    upper[:, PC] = np.where(cool_on, np.maximum(home(th.ac_max_w), 0.0), 0.0)
    lower[:, TIN], upper[:, TIN] = -_INF, _INF
    upper[:, SLO] = upper[:, SHI] = np.where(thermal_on, _INF, 0.0)
    building = np.where(thermal_on, (1.0 - a) * outdoor, 0.0)
    row_lower[:, BUILDING] = row_upper[:, BUILDING] = building
    row_lower[:, BUILDING, 0] += (a * indoor0)[:, 0]
    row_upper[:, BUILDING, 0] = row_lower[:, BUILDING, 0]
    low = per_interval(th.comfort_low_c, homes, steps)
    high = per_interval(th.comfort_high_c, homes, steps)
    row_lower[:, COMFORT_LOW] = np.where(thermal_on & np.isfinite(low), low, -_INF)
    row_upper[:, COMFORT_LOW] = _INF
    row_lower[:, COMFORT_HIGH] = -_INF
    row_upper[:, COMFORT_HIGH] = np.where(thermal_on & np.isfinite(high), high, _INF)

    upper[:, GU] = np.where(gen_on, 1.0, 0.0)
    upper[:, GP] = np.where(gen_on, rated, 0.0)
    row_lower[:, GEN_MAX] = -_INF
    row_upper[:, GEN_MIN] = _INF

    weights = objective_weights(fleet.objective, fleet.weights)
    import_price = per_interval(sig.import_price_per_kwh, homes, steps)
    export_price = np.minimum(per_interval(sig.export_price_per_kwh, homes, steps), import_price)
    carbon = per_interval(sig.carbon_g_per_kwh, homes, steps)
    cost[:, IMP] = kwh_per_w * (
        weights.cost * import_price + weights.carbon * carbon / 1000.0 + weights.self_consumption
    )
    cost[:, EXP] = kwh_per_w * (-weights.cost * export_price + weights.self_consumption)
    cost[:, GP] = kwh_per_w * (
        weights.cost * home(gen.fuel_cost_per_kwh)
        + weights.carbon * home(gen.carbon_g_per_kwh) / 1000.0
    )
    cost[:, SLO] = cost[:, SHI] = fleet.comfort_penalty_per_k_h * hours
    cost[:, BD] = cost[:, ED] = fleet.storage_wear_per_kwh * kwh_per_w

    integer = np.zeros((homes, COLUMN_BLOCKS, steps), dtype=bool)
    integer[:, GU] = gen_on
    return Programs(
        intervals=steps,
        start=start,
        index=row[order].astype(np.int32),
        value=np.ascontiguousarray(value[:, order]),
        cost=cost.reshape(homes, -1),
        col_lower=lower.reshape(homes, -1),
        col_upper=upper.reshape(homes, -1),
        row_lower=row_lower.reshape(homes, -1),
        row_upper=row_upper.reshape(homes, -1),
        integer=integer.reshape(homes, -1),
    )


class Solver:
    """
    A quiet, single-threaded HiGHS instance that warm-starts each linear program from the
    optimal basis of the previous one of the same shape: homes of a fleet differ in their
    numbers, not their structure, so the last basis is a few pivots from the next optimum
    (about five times fewer iterations than a cold start here; ``docs/benchmarks.md``).
    One per process; not shared between threads.
    """

    def __init__(self, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S, warm: bool = True) -> None:
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("threads", 1)
        self.time_limit_s = float(time_limit_s)
        self.highs.setOptionValue("mip_rel_gap", MIP_RELATIVE_GAP)
        self.warm = warm
        self._bases: dict[tuple[int, int], Any] = {}

    def solve(self, programs: Programs, home: int) -> tuple[str, FloatArray, float]:
        """Solve one home's program: (status, column values or NaN, objective)."""
        integer = programs.integer[home]
        is_mip = bool(integer.any())
        shape = (programs.columns, programs.rows)
        highs = self.highs
        self._pass(programs, home, integer)
        basis = self._bases.get(shape) if self.warm and not is_mip else None
        if basis is not None:
            highs.setBasis(basis)
        self._run()
        status = highs.getModelStatus()
        if basis is not None and status != highspy.HighsModelStatus.kOptimal:
            # A basis never changes the answer, only the path; still, give a home that
            # fails from a borrowed basis a clean start before calling it infeasible.
            self._bases.pop(shape, None)
            self._pass(programs, home, integer)
            self._run()
            status = highs.getModelStatus()
        info: Any = highs.getInfo()
        has_solution = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
        if status == highspy.HighsModelStatus.kOptimal and has_solution:
            if self.warm and not is_mip:
                self._bases[shape] = highs.getBasis()
            values = np.asarray(highs.getSolution().col_value, dtype=np.float64)
            return STATUS_OPTIMAL, values, float(info.objective_function_value) / OBJECTIVE_SCALE
        nothing = np.full(programs.columns, np.nan)
        if status in (
            highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return STATUS_INFEASIBLE, nothing, float("nan")
        return STATUS_FAILED, nothing, float("nan")

    def _run(self) -> None:
        # HiGHS compares its time limit with the instance's run time summed over every
        # run (until its 2.0), so each run's limit is set from where the clock stands.
        self.highs.setOptionValue("time_limit", self.highs.getRunTime() + self.time_limit_s)
        self.highs.run()

    def _pass(self, programs: Programs, home: int, integer: BoolArray) -> None:
        self.highs.passModel(
            programs.columns,
            programs.rows,
            len(programs.index),
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            programs.cost[home] * OBJECTIVE_SCALE,
            programs.col_lower[home],
            programs.col_upper[home],
            programs.row_lower[home],
            programs.row_upper[home],
            programs.start,
            programs.index,
            programs.value[home],
            integer.astype(np.int32),
        )


_SOLVER: Solver | None = None


def _default_solver() -> Solver:
    global _SOLVER
    if _SOLVER is None:
        _SOLVER = Solver()
    return _SOLVER


def setpoints_from_columns(values: FloatArray, intervals: int) -> Setpoints:
    """Setpoints from column values (H, 16·T) in the block order above."""
    blocks = values.reshape(values.shape[0], COLUMN_BLOCKS, intervals)

    def positive(block: int) -> FloatArray:
        return np.asarray(np.maximum(blocks[:, block], 0.0))

    return Setpoints(
        grid_import_w=positive(IMP),
        grid_export_w=positive(EXP),
        curtailed_w=positive(CURT),
        battery_charge_w=positive(BC),
        battery_discharge_w=positive(BD),
        battery_wh=positive(BS),
        vehicle_charge_w=positive(EC),
        vehicle_discharge_w=positive(ED),
        vehicle_wh=positive(ES),
        heater_w=positive(PH),
        ac_w=positive(PC),
        indoor_c=np.asarray(blocks[:, TIN]),
        comfort_below_k=positive(SLO),
        comfort_above_k=positive(SHI),
        generator_on=np.asarray(blocks[:, GU] > 0.5),
        generator_w=positive(GP),
    )


BUILD_HOMES = 500
"""Homes built at once: bounds the arrays (~40 MB for 500 homes of 96 intervals) and keeps
them in cache while their homes are solved."""


def optimize(fleet: Fleet, *, solver: Solver | None = None) -> Plan:
    """
    Plan every home of a fleet; a home whose program has no solution gets NaN setpoints
    and the status ``infeasible`` or ``failed`` (``plan_fleet`` falls back to greedy), and
    a home with inputs out of range the status ``invalid`` (``Fleet.invalid_homes``).
    """
    fleet.validate()
    invalid = fleet.invalid_homes() != ""
    solver = _default_solver() if solver is None else solver
    homes = fleet.homes
    values = np.empty((homes, COLUMN_BLOCKS * fleet.intervals))
    status = np.empty(homes, dtype="<U10")
    objective = np.empty(homes)
    build_s = np.empty(homes)
    solve_s = np.empty(homes)
    for first in range(0, homes, BUILD_HOMES):
        stop = min(first + BUILD_HOMES, homes)
        started = time.perf_counter()
        part = fleet.select(first, stop) if stop - first < homes else fleet
        with np.errstate(all="ignore"):  # only invalid homes' rows, never solved, can overflow
            programs = build(part)
        build_s[first:stop] = (time.perf_counter() - started) / (stop - first)
        for home in range(first, stop):
            if invalid[home]:
                status[home], values[home], objective[home] = STATUS_INVALID, np.nan, np.nan
                solve_s[home] = 0.0
                continue
            began = time.perf_counter()
            status[home], values[home], objective[home] = solver.solve(programs, home - first)
            solve_s[home] = time.perf_counter() - began
    setpoints = setpoints_from_columns(values, fleet.intervals)
    outcome = evaluate(fleet, setpoints)
    return Plan(
        setpoints=setpoints,
        cost=outcome.cost,
        carbon_g=outcome.carbon_g,
        self_consumption=outcome.self_consumption,
        comfort_violation_k_h=outcome.comfort_violation_k_h,
        objective=objective,
        status=status,
        build_s=build_s,
        solve_s=solve_s,
    )
