"""
What a plan's setpoint asks of a device, as an action, and the action's expected effect.

Pure (no Django): the farm, which applies plans to simulated devices, and the planner's
command path to physical devices name actions and price them the same way.

A setpoint is the device's power in an interval, in the project's sign convention: storage
positive charging, appliances positive drawing, a generator's output positive. Its expected
effect is the energy the action takes from the home's supply (> 0) or gives it (< 0) over the
interval, at the interval's import price and grid carbon intensity: charging a battery at
night costs the night's price, discharging it in the evening is worth the evening's.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

ACTIVE_W = 1.0
"""A setpoint below this magnitude is no action (idle, off, stop). [W]"""

STORAGE_KINDS = frozenset({"battery", "electric_vehicle"})
SUPPLY_KINDS = frozenset({"generator"})
_ON_OFF = {
    "heater": ("heat", "off"),
    "air_conditioner": ("cool", "off"),
    "generator": ("run", "stop"),
}


def action_names(kind: str, power_w: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """The action of each setpoint of a device of ``kind``: ``charge``/``discharge``/``idle``
    for stores, ``heat``/``cool``/``run`` or ``off``/``stop`` for the others."""
    power = np.nan_to_num(np.asarray(power_w, dtype=np.float64))
    if kind in STORAGE_KINDS:
        return np.where(
            power >= ACTIVE_W, "charge", np.where(power <= -ACTIVE_W, "discharge", "idle")
        )
    try:
        on, off = _ON_OFF[kind]
    except KeyError:
        msg = f"a plan gives no setpoints to a {kind}"
        raise ValueError(msg) from None
    return np.where(power >= ACTIVE_W, on, off)


def expected_effect(
    kind: str,
    power_w: npt.ArrayLike,
    *,
    import_price_per_kwh: npt.ArrayLike,
    carbon_g_per_kwh: npt.ArrayLike,
    interval_s: float,
) -> tuple[FloatArray, FloatArray]:
    """Expected cost [currency] and carbon [g] of each setpoint over its interval: the energy
    it draws (a generator: minus what it supplies) at the import price and carbon intensity."""
    power = np.nan_to_num(np.asarray(power_w, dtype=np.float64))
    drawn_kwh = power * interval_s / 3.6e6 * (-1.0 if kind in SUPPLY_KINDS else 1.0)
    cost = drawn_kwh * np.asarray(import_price_per_kwh, dtype=np.float64)
    carbon = drawn_kwh * np.asarray(carbon_g_per_kwh, dtype=np.float64)
    return np.asarray(cost), np.asarray(carbon)
