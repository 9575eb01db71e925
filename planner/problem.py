"""
The planning problem of a fleet of homes: signals, forecasts and devices as arrays.

Every per-interval array has shape (H, T): H homes, T intervals of ``dt_s`` (15 minutes,
T = 96 for a day, up to 192). Every per-home array has shape (H,). A device kind a home
lacks has ``present`` False there; its other fields are then ignored. Powers are in W,
energies in Wh, temperatures in °C, prices in currency per kWh, carbon in g/kWh. Interval
``t`` runs from ``t·dt`` to ``(t+1)·dt``; a state (state of charge, indoor temperature) at
index ``t`` is its value at the END of interval ``t``.

Storage efficiencies are split per direction: charging P for Δt stores η_c·P·Δt, and
delivering P for Δt takes P·Δt/η_d out of the store. ``storage_efficiencies`` splits a
round-trip efficiency as √η each way; ``charge_efficiency=η, discharge_efficiency=1`` is
the physics' own convention (all of the loss on charge, ``simulators.physics.battery``).

The building is a first-order thermal model (one resistance, one capacitance):

    T_in[t] = a·T_in[t-1] + (1 - a)·T_out[t] + b_h·P_heat[t] - b_c·P_cool[t]

with a = exp(-Δt/τ), b_h = (1 - a)·COP_h/UA, b_c = (1 - a)·COP_c/UA. ``thermal_gains``
takes UA from the physics' thermostat convention: an appliance at its rated power holds
its design difference (20 K heating, 12 K cooling, ``simulators.physics.thermal``), so
UA = COP·P_rated/ΔT_design.

References
----------
.. [Bac13] P. Bacher and H. Madsen, "Identifying suitable models for the heat dynamics of
   buildings", Energy and Buildings 43, 1511-1522, 2011 (the first-order RC model).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

INTERVAL_S = 900.0
"""The planner's resolution: 15 minutes. [s]"""
MAX_INTERVALS = 192
"""The longest horizon: 48 h of 15-minute intervals."""
DEFAULT_TIME_CONSTANT_S = 8 * 3600.0
"""Building time constant τ = RC when none is known: a lightly insulated house. [s]"""
HEATING_DESIGN_DELTA_C = 20.0
"""Indoor - outdoor difference a heater at full power holds (the physics' default). [K]"""
COOLING_DESIGN_DELTA_C = 12.0
"""Outdoor - indoor difference an air conditioner at full power holds (the physics'). [K]"""
COMFORT_PENALTY_PER_K_H = 100.0
"""Objective units per kelvin-hour outside the comfort band: dearer than any energy."""
STORAGE_WEAR_PER_KWH = 0.001
"""Objective units per kWh a battery or a car delivers: wear, and the tie-break that keeps a
store from emptying itself into an export that pays nothing."""


class Objective(enum.StrEnum):
    """What a home's plan minimises."""

    COST = "cost"
    CARBON = "carbon"
    SELF_CONSUMPTION = "self_consumption"
    WEIGHTED = "weighted"


@dataclass(frozen=True, slots=True)
class Weights:
    """
    Weights of a mix (objective ``WEIGHTED``).

    Attributes
    ----------
    cost : float
        Per currency unit spent (imports and fuel, less exports).
    carbon : float
        Per kg of CO₂ emitted (imports and fuel).
    self_consumption : float
        Per kWh exchanged with the grid (imported plus exported).
    """

    cost: float = 1.0
    carbon: float = 0.0
    self_consumption: float = 0.0


TIE_BREAK_COST_WEIGHT = 1e-3
"""Cost weight under CARBON and SELF_CONSUMPTION, so that among equal plans the cheaper wins."""


def objective_weights(objective: Objective, weights: Weights | None = None) -> Weights:
    """The weights an objective stands for (``WEIGHTED`` takes ``weights``)."""
    if objective is Objective.COST:
        return Weights(cost=1.0)
    if objective is Objective.CARBON:
        return Weights(cost=TIE_BREAK_COST_WEIGHT, carbon=1.0)
    if objective is Objective.SELF_CONSUMPTION:
        return Weights(cost=TIE_BREAK_COST_WEIGHT, self_consumption=1.0)
    if weights is None:
        msg = "a weighted objective needs its weights"
        raise ValueError(msg)
    return weights


def storage_efficiencies(round_trip_efficiency: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Charge and discharge efficiencies √η each of a round-trip efficiency η in (0, 1]."""
    split = np.sqrt(np.clip(np.asarray(round_trip_efficiency, dtype=np.float64), 1e-6, 1.0))
    return split, split.copy()


def thermal_gains(
    *,
    heat_loss_w_per_k: npt.ArrayLike,
    heating_cop: npt.ArrayLike,
    cooling_cop: npt.ArrayLike,
    time_constant_s: npt.ArrayLike = DEFAULT_TIME_CONSTANT_S,
    dt_s: float = INTERVAL_S,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """
    Coefficients (a, b_h, b_c) of the first-order model for a step ``dt_s``.

    Parameters
    ----------
    heat_loss_w_per_k : numeric
        UA, the building's heat loss per kelvin. [W/K]
    heating_cop, cooling_cop : numeric
        Heat moved per electrical W. [-]
    time_constant_s : numeric
        τ = RC. [s]
    dt_s : float
        Step. [s]

    Returns
    -------
    a [-], b_h [K/W], b_c [K/W] : ndarray
    """
    a = np.exp(-dt_s / np.asarray(time_constant_s, dtype=np.float64))
    ua = np.asarray(heat_loss_w_per_k, dtype=np.float64)
    b_h = (1.0 - a) * np.asarray(heating_cop, dtype=np.float64) / ua
    b_c = (1.0 - a) * np.asarray(cooling_cop, dtype=np.float64) / ua
    return np.asarray(a), np.asarray(b_h), np.asarray(b_c)


def heat_loss_from_rating_w_per_k(
    rated_power_w: npt.ArrayLike, *, cop: npt.ArrayLike = 1.0, design_delta_c: float
) -> FloatArray:
    """UA implied by an appliance that holds ``design_delta_c`` at its rated power. [W/K]"""
    rated = np.asarray(rated_power_w, dtype=np.float64)
    return np.asarray(rated * np.asarray(cop, dtype=np.float64) / design_delta_c)


@dataclass(frozen=True, slots=True)
class Signals:
    """Per interval (H, T): prices [currency/kWh], carbon intensity [g/kWh], outdoor [°C]."""

    import_price_per_kwh: FloatArray
    export_price_per_kwh: FloatArray
    carbon_g_per_kwh: FloatArray
    outdoor_c: FloatArray


@dataclass(frozen=True, slots=True)
class Forecasts:
    """Per interval (H, T): solar production and the household's base load. [W]"""

    pv_w: FloatArray
    base_load_w: FloatArray


@dataclass(frozen=True, slots=True)
class Batteries:
    """Stationary batteries, per home (H,); ``min_soc`` and ``initial_soc`` are fractions."""

    present: BoolArray
    capacity_wh: FloatArray
    max_charge_w: FloatArray
    max_discharge_w: FloatArray
    charge_efficiency: FloatArray
    discharge_efficiency: FloatArray
    min_soc: FloatArray
    initial_soc: FloatArray


@dataclass(frozen=True, slots=True)
class Vehicles:
    """
    Electric vehicles, per home (H,) and per interval (H, T).

    ``home`` is True in the intervals the car is plugged in at home; ``driving_wh`` is the
    energy the car uses in each interval away. ``target_soc`` is NaN except at the last
    interval before a departure, where the state of charge at its end must reach the value.
    ``v2h`` allows discharging into the home.
    """

    present: BoolArray
    capacity_wh: FloatArray
    max_charge_w: FloatArray
    max_discharge_w: FloatArray
    charge_efficiency: FloatArray
    discharge_efficiency: FloatArray
    initial_soc: FloatArray
    v2h: BoolArray
    home: BoolArray
    driving_wh: FloatArray
    target_soc: FloatArray
    charge_target_soc: FloatArray = field(default_factory=lambda: np.ones(0))
    """Per home (H,): where the greedy rule stops charging (the owner's target); empty → 1."""


@dataclass(frozen=True, slots=True)
class Thermal:
    """
    Heaters and air conditioners over the first-order building model, per home (H,).

    ``a``, ``heating_k_per_w`` (b_h) and ``cooling_k_per_w`` (b_c) come from
    ``thermal_gains``. ``comfort_low_c``/``comfort_high_c`` (H, T) bound the indoor
    temperature; the setpoints are what the greedy thermostat holds.
    """

    heater_present: BoolArray
    heater_max_w: FloatArray
    ac_present: BoolArray
    ac_max_w: FloatArray
    a: FloatArray
    heating_k_per_w: FloatArray
    cooling_k_per_w: FloatArray
    initial_indoor_c: FloatArray
    comfort_low_c: FloatArray
    comfort_high_c: FloatArray
    heating_setpoint_c: FloatArray
    cooling_setpoint_c: FloatArray


@dataclass(frozen=True, slots=True)
class Generators:
    """Fuel generators, per home (H,): on/off with a minimum output when on."""

    present: BoolArray
    rated_power_w: FloatArray
    min_output_w: FloatArray
    fuel_cost_per_kwh: FloatArray
    carbon_g_per_kwh: FloatArray


@dataclass(frozen=True, slots=True)
class Fleet:
    """
    One planning problem per home, all over the same horizon.

    ``objective`` and ``weights`` apply to every home of the fleet; plan homes with
    different goals as separate fleets.
    """

    signals: Signals
    forecasts: Forecasts
    batteries: Batteries
    vehicles: Vehicles
    thermal: Thermal
    generators: Generators
    grid_import_max_w: FloatArray
    grid_export_max_w: FloatArray
    objective: Objective = Objective.COST
    weights: Weights | None = None
    dt_s: float = INTERVAL_S
    hold_storage_levels: bool = True
    """The battery ends the horizon at least as full as it started, and so does a car that
    is home at the end (no energy for free: the next horizon starts where this one ends)."""
    comfort_penalty_per_k_h: float = COMFORT_PENALTY_PER_K_H
    storage_wear_per_kwh: float = STORAGE_WEAR_PER_KWH

    @property
    def homes(self) -> int:
        return int(self.forecasts.pv_w.shape[0])

    @property
    def intervals(self) -> int:
        return int(self.forecasts.pv_w.shape[1])

    def select(self, first: int, stop: int) -> Fleet:
        """The homes ``first`` to ``stop - 1`` as a fleet of their own."""

        def part(group: Any) -> Any:
            return replace(
                group,
                **{
                    name: np.asarray(getattr(group, name))[first:stop]
                    for name in group.__dataclass_fields__
                    if np.ndim(getattr(group, name)) >= 1
                    and np.shape(getattr(group, name))[0] == self.homes
                },
            )

        return replace(
            self,
            signals=part(self.signals),
            forecasts=part(self.forecasts),
            batteries=part(self.batteries),
            vehicles=part(self.vehicles),
            thermal=part(self.thermal),
            generators=part(self.generators),
            grid_import_max_w=self.grid_import_max_w[first:stop],
            grid_export_max_w=self.grid_export_max_w[first:stop],
        )

    def validate(self) -> None:
        """Raise ValueError naming the first field of the wrong shape (a caller's mistake,
        not a home's: values are checked per home by ``invalid_homes``)."""
        homes, intervals = self.homes, self.intervals
        if not 1 <= intervals <= MAX_INTERVALS:
            msg = f"a horizon has 1 to {MAX_INTERVALS} intervals, not {intervals}"
            raise ValueError(msg)
        for group_name, name, value in self._fields():
            if name == "charge_target_soc" and value.size == 0:
                continue
            if value.shape not in ((homes,), (homes, intervals)):
                msg = f"{group_name}.{name} has shape {value.shape}, not ({homes},) or "
                msg += f"({homes}, {intervals})"
                raise ValueError(msg)
        for name in ("grid_import_max_w", "grid_export_max_w"):
            if np.asarray(getattr(self, name)).shape != (homes,):
                msg = f"{name} must have shape ({homes},)"
                raise ValueError(msg)

    def _fields(self) -> list[tuple[str, str, npt.NDArray[Any]]]:
        groups = {
            "signals": self.signals,
            "forecasts": self.forecasts,
            "batteries": self.batteries,
            "vehicles": self.vehicles,
            "thermal": self.thermal,
            "generators": self.generators,
        }
        return [
            (group_name, name, np.asarray(getattr(group, name)))
            for group_name, group in groups.items()
            for name in group.__dataclass_fields__  # type: ignore[attr-defined]
        ]

    def invalid_homes(self) -> npt.NDArray[np.str_]:
        """
        Per home, why its inputs cannot be planned ('' when they can): the first field
        outside its range, e.g. ``"batteries.discharge_efficiency must be in (0, 1]"``.
        Fields of a device the home lacks are not looked at. One home's bad input makes
        only that home invalid.
        """
        homes = self.homes
        reasons = np.full(homes, "", dtype=object)
        bat, ev, th, gen = self.batteries, self.vehicles, self.thermal, self.generators
        everyone = np.ones(homes, dtype=bool)
        heat_or_cool = np.asarray(th.heater_present) | np.asarray(th.ac_present)

        def finite(v: FloatArray) -> BoolArray:
            return np.asarray(np.isfinite(v))

        def at_least(low: float) -> Any:
            return lambda v: finite(v) & (v >= low)

        def within(low: float, high: float) -> Any:
            return lambda v: finite(v) & (v >= low) & (v <= high)

        def fraction_open(v: FloatArray) -> BoolArray:
            return finite(v) & (v > 0.0) & (v <= 1.0)

        def nan_or(check: Any) -> Any:
            return lambda v: np.isnan(v) | check(v)

        rules: list[tuple[str, Any, BoolArray, Any, str]] = [
            ("signals.import_price_per_kwh", self.signals.import_price_per_kwh, everyone,
             finite, "must be finite"),
            ("signals.export_price_per_kwh", self.signals.export_price_per_kwh, everyone,
             finite, "must be finite"),
            ("signals.carbon_g_per_kwh", self.signals.carbon_g_per_kwh, everyone,
             at_least(0.0), "must be finite and >= 0"),
            ("signals.outdoor_c", self.signals.outdoor_c, heat_or_cool, within(-90.0, 70.0),
             "must be in [-90, 70]"),
            ("forecasts.pv_w", self.forecasts.pv_w, everyone, at_least(0.0),
             "must be finite and >= 0"),
            ("forecasts.base_load_w", self.forecasts.base_load_w, everyone, at_least(0.0),
             "must be finite and >= 0"),
            ("grid_import_max_w", self.grid_import_max_w, everyone, at_least(0.0),
             "must be finite and >= 0"),
            ("grid_export_max_w", self.grid_export_max_w, everyone, at_least(0.0),
             "must be finite and >= 0"),
        ]  # fmt: skip
        for name in ("capacity_wh", "max_charge_w", "max_discharge_w"):
            rules.append((f"batteries.{name}", getattr(bat, name), bat.present, at_least(0.0),
                          "must be finite and >= 0"))  # fmt: skip
            rules.append((f"vehicles.{name}", getattr(ev, name), ev.present, at_least(0.0),
                          "must be finite and >= 0"))  # fmt: skip
        for name in ("charge_efficiency", "discharge_efficiency"):
            rules.append((f"batteries.{name}", getattr(bat, name), bat.present, fraction_open,
                          "must be in (0, 1]"))  # fmt: skip
            rules.append((f"vehicles.{name}", getattr(ev, name), ev.present, fraction_open,
                          "must be in (0, 1]"))  # fmt: skip
        rules += [
            ("batteries.min_soc", bat.min_soc, bat.present, within(0.0, 1.0), "must be in [0, 1]"),
            ("batteries.initial_soc", bat.initial_soc, bat.present, within(0.0, 1.0),
             "must be in [0, 1]"),
            ("vehicles.initial_soc", ev.initial_soc, ev.present, within(0.0, 1.0),
             "must be in [0, 1]"),
            ("vehicles.driving_wh", ev.driving_wh, ev.present, at_least(0.0),
             "must be finite and >= 0"),
            ("vehicles.target_soc", ev.target_soc, ev.present, nan_or(at_least(0.0)),
             "must be NaN (no departure) or >= 0"),
            ("thermal.heater_max_w", th.heater_max_w, th.heater_present, at_least(0.0),
             "must be finite and >= 0"),
            ("thermal.ac_max_w", th.ac_max_w, th.ac_present, at_least(0.0),
             "must be finite and >= 0"),
            ("thermal.a", th.a, heat_or_cool, lambda v: finite(v) & (v >= 0.0) & (v < 1.0),
             "must be in [0, 1)"),
            ("thermal.heating_k_per_w", th.heating_k_per_w, th.heater_present,
             lambda v: finite(v) & (v > 0.0), "must be finite and > 0"),
            ("thermal.cooling_k_per_w", th.cooling_k_per_w, th.ac_present,
             lambda v: finite(v) & (v > 0.0), "must be finite and > 0"),
            ("thermal.initial_indoor_c", th.initial_indoor_c, heat_or_cool,
             within(-90.0, 70.0), "must be in [-90, 70]"),
            ("thermal.heating_setpoint_c", th.heating_setpoint_c, th.heater_present,
             within(-90.0, 70.0), "must be in [-90, 70]"),
            ("thermal.cooling_setpoint_c", th.cooling_setpoint_c, th.ac_present,
             within(-90.0, 70.0), "must be in [-90, 70]"),
            ("thermal.comfort_low_c", th.comfort_low_c, heat_or_cool,
             lambda v: ~np.isnan(v) & (v < np.inf), "must be a temperature or -inf"),
            ("thermal.comfort_high_c", th.comfort_high_c, heat_or_cool,
             lambda v: ~np.isnan(v) & (v > -np.inf), "must be a temperature or +inf"),
            ("generators.rated_power_w", gen.rated_power_w, gen.present, at_least(0.0),
             "must be finite and >= 0"),
            ("generators.min_output_w", gen.min_output_w, gen.present,
             lambda v: finite(v) & (v >= 0.0) & (v <= np.asarray(gen.rated_power_w)),
             "must be in [0, rated_power_w]"),
            ("generators.fuel_cost_per_kwh", gen.fuel_cost_per_kwh, gen.present, finite,
             "must be finite"),
            ("generators.carbon_g_per_kwh", gen.carbon_g_per_kwh, gen.present, at_least(0.0),
             "must be finite and >= 0"),
        ]  # fmt: skip
        for name, value, present, check, message in rules:
            array = np.asarray(value, dtype=np.float64)
            with np.errstate(invalid="ignore"):
                ok = np.asarray(check(array))
            if ok.ndim == 2:
                ok = np.asarray(ok.all(axis=1))
            bad = np.asarray(present, dtype=bool) & ~ok & (reasons == "")
            reasons[bad] = f"{name} {message}"
        return np.asarray(reasons.astype(str))


def fleet_concat(fleets: Sequence[Fleet]) -> Fleet:
    """
    One fleet of the homes of ``fleets``, in order (the inverse of ``Fleet.select``).

    Every fleet must have the same horizon, interval, objective and settings: homes with
    different goals are planned as separate fleets. Raises ValueError otherwise, or when
    ``fleets`` is empty.
    """
    if not fleets:
        msg = "no fleets to concatenate"
        raise ValueError(msg)
    first = fleets[0]
    settings = ("intervals", "objective", "weights", "dt_s", "hold_storage_levels",
                "comfort_penalty_per_k_h", "storage_wear_per_kwh")  # fmt: skip
    for other in fleets[1:]:
        for name in settings:
            if getattr(other, name) != getattr(first, name):
                msg = f"fleets differ in {name}: {getattr(first, name)!r}, {getattr(other, name)!r}"
                raise ValueError(msg)

    def joined(group_name: str) -> Any:
        groups = [getattr(fleet, group_name) for fleet in fleets]
        values: dict[str, FloatArray] = {}
        for name in groups[0].__dataclass_fields__:
            parts = []
            for fleet, group in zip(fleets, groups, strict=True):
                value = np.asarray(getattr(group, name))
                if name == "charge_target_soc" and value.size == 0:
                    value = np.ones(fleet.homes)  # empty means "full" for every home
                parts.append(value)
            values[name] = np.concatenate(parts, axis=0)
        return replace(groups[0], **values)

    return replace(
        first,
        signals=joined("signals"),
        forecasts=joined("forecasts"),
        batteries=joined("batteries"),
        vehicles=joined("vehicles"),
        thermal=joined("thermal"),
        generators=joined("generators"),
        grid_import_max_w=np.concatenate([fleet.grid_import_max_w for fleet in fleets]),
        grid_export_max_w=np.concatenate([fleet.grid_export_max_w for fleet in fleets]),
    )
