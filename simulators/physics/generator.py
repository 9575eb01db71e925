"""
Fuel generators: rated power with a small deterministic jitter while running.

A running generator's output wanders around its rating (governor hunting, load
sharing, fuel quality); we model that as rated · (1 + 0.05 (2u - 1)) with u a uniform
draw fixed by (seed, device id, tick second), so ±5 % and reproducible everywhere.

References
----------
.. [ISO8528] ISO 8528-5:2018, Reciprocating internal combustion engine driven
   alternating current generating sets — Part 5: Generating sets (steady-state
   governing and power-band tolerances).
.. [Ste14] G. L. Steele, D. Lea and C. H. Flood, "Fast splittable pseudorandom number
   generators", OOPSLA 2014 (splitmix64 draws, see ``simulators.physics.clouds``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulators.physics._types import FloatArray, Numeric, as_float_array
from simulators.physics.clouds import STREAM_GENERATOR, deterministic_uniform

GENERATOR_TOLERANCE = 0.05
"""Half-width of the output band around the rating. [-]"""


@dataclass(frozen=True, slots=True)
class GeneratorParams:
    """
    One generator or an array of generators (fields broadcast).

    Attributes
    ----------
    rated_power_w : numeric
        Rated electrical output. [W]
    running : bool array
        Whether it runs.
    """

    rated_power_w: Numeric
    running: npt.ArrayLike = True


def generator_power_w(
    device_id: npt.ArrayLike,
    unix_s: npt.ArrayLike,
    *,
    rated_power_w: Numeric,
    running: npt.ArrayLike,
    seed: int,
) -> FloatArray:
    """
    Output of generators for a tick.

    Parameters
    ----------
    device_id : int array
        Device identifiers (the jitter is fixed per device and tick).
    unix_s : int array
        Whole Unix seconds of the tick. [s]
    rated_power_w : numeric
        Rated output; negative counts as 0. [W]
    running : bool array
        Running flags; a stopped generator gives exactly 0.
    seed : int
        Simulation seed.

    Returns
    -------
    ndarray
        P = P_rated (1 + 0.05 (2u - 1)) when running, else 0; P in [0.95, 1.05]·P_rated. [W]

    References
    ----------
    ISO 8528-5:2018 (power band); Steele, Lea & Flood 2014 (deterministic draw).
    """
    draw = deterministic_uniform(device_id, unix_s, seed=seed, stream=STREAM_GENERATOR)
    factor = 1.0 + GENERATOR_TOLERANCE * (2.0 * draw - 1.0)
    rated = np.maximum(as_float_array(rated_power_w), 0.0)
    on = np.asarray(running, dtype=np.bool_)
    return np.asarray(np.where(on, rated * factor, 0.0), dtype=np.float64)
