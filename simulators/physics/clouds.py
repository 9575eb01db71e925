"""
Deterministic randomness and the cloud factor of solar panels.

No global random state is used anywhere in ``simulators``: every draw is an integer
hash of (seed, stream, device id, time index) computed with splitmix64 in numpy
uint64 arithmetic (which wraps modulo 2**64 by definition), so a value is the same
in every process, on every machine and in any order of evaluation.

Cloudiness persists from tick to tick: the cloud cover of a device is smooth value
noise in time — hashed random knots every few minutes to hours, joined by a smoothstep
— summed over two octaves (slow weather systems, fast passing clouds). The cover
becomes an irradiance factor with the Kasten & Czeplak (1980) relation.

References
----------
.. [Ste14] G. L. Steele, D. Lea and C. H. Flood, "Fast splittable pseudorandom number
   generators", OOPSLA 2014 (splitmix64; constants from S. Vigna's reference code).
.. [Per85] K. Perlin, "An image synthesizer", SIGGRAPH 1985 (value/gradient noise,
   smoothstep interpolation).
.. [KC80] F. Kasten and G. Czeplak, "Solar and terrestrial radiation dependent on the
   amount and type of cloud", Solar Energy 24(2), 177-189, 1980.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simulators.physics._types import FloatArray, Numeric, UIntArray, as_float_array

_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SHIFT_30 = np.uint64(30)
_SHIFT_27 = np.uint64(27)
_SHIFT_31 = np.uint64(31)
_SHIFT_11 = np.uint64(11)
_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0

STREAM_CLOUD_SLOW = 0x636C6F7564730001
"""Stream id of the slow cloud octave ("clouds" + 1)."""
STREAM_CLOUD_FAST = 0x636C6F7564730002
"""Stream id of the fast cloud octave."""
STREAM_GENERATOR = 0x67656E6572610001
"""Stream id of generator output jitter."""

SLOW_KNOT_INTERVAL_S = 3 * 3600
"""Knot spacing of the slow octave (weather systems). [s]"""
FAST_KNOT_INTERVAL_S = 20 * 60
"""Knot spacing of the fast octave (passing clouds). [s]"""


def _as_uint64(value: npt.ArrayLike) -> UIntArray:
    """Reinterpret integers (signed allowed) as uint64, two's complement, as an array."""
    array = np.asarray(value)
    if array.dtype.kind == "u":
        return array.astype(np.uint64)
    return np.asarray(array.astype(np.int64).view(np.uint64))


def splitmix64(value: npt.ArrayLike) -> UIntArray:
    """
    The splitmix64 finaliser of ``value + golden gamma``: a bijective 64-bit mixer.

    Parameters
    ----------
    value : int or array of int
        Any integers; signed values are taken modulo 2**64.

    Returns
    -------
    ndarray of uint64
        Same shape as ``value``.

    Notes
    -----
    z = x + 0x9E3779B97F4A7C15; z = (z ^ z>>30)·0xBF58476D1CE4E5B9;
    z = (z ^ z>>27)·0x94D049BB133111EB; return z ^ z>>31, all modulo 2**64.
    Works on 1-d views so numpy uses its wrapping ufunc loops (no scalar overflow
    warnings), then restores the shape.

    References
    ----------
    Steele, Lea & Flood 2014; S. Vigna, splitmix64.c (public domain).
    """
    z = _as_uint64(value)
    shape = z.shape
    z = np.ravel(z) + _GOLDEN_GAMMA
    z = (z ^ (z >> _SHIFT_30)) * _MIX_1
    z = (z ^ (z >> _SHIFT_27)) * _MIX_2
    z = z ^ (z >> _SHIFT_31)
    return np.asarray(z.reshape(shape), dtype=np.uint64)


def hash_combine(*keys: npt.ArrayLike) -> UIntArray:
    """
    Hash several integer keys (broadcast together) into one uint64 per element.

    Parameters
    ----------
    *keys : int or array of int
        Keys in order; the order matters.

    Returns
    -------
    ndarray of uint64
        h = splitmix64(... splitmix64(splitmix64(k0) ^ k1) ... ^ kn).

    References
    ----------
    Steele, Lea & Flood 2014.
    """
    if not keys:
        return splitmix64(0)
    # Fold left to right so scalar keys (seed, stream) are mixed once, not per element.
    state = splitmix64(keys[0])
    for key in keys[1:]:
        state = splitmix64(state ^ _as_uint64(key))
    return state


def uniform_from_hash(hashed: UIntArray) -> FloatArray:
    """
    Map uint64 hashes to floats uniform in [0, 1) using their top 53 bits.

    Parameters
    ----------
    hashed : ndarray of uint64

    Returns
    -------
    ndarray of float64
        (h >> 11) · 2**-53, exactly representable, in [0, 1). [-]

    References
    ----------
    S. Vigna, "xoshiro / xoroshiro generators and the PRNG shootout" (float conversion).
    """
    return np.asarray((hashed >> _SHIFT_11).astype(np.float64) * _TWO_POW_MINUS_53)


def deterministic_uniform(
    device_id: npt.ArrayLike, time_index: npt.ArrayLike, *, seed: int, stream: int
) -> FloatArray:
    """
    A uniform draw in [0, 1) fixed by (seed, stream, device id, time index).

    Parameters
    ----------
    device_id : int or array of int
        Device identifiers.
    time_index : int or array of int
        Integer time key: a tick's Unix second, or a knot number.
    seed : int
        Simulation seed.
    stream : int
        Purpose of the draw, so different uses of the same (device, time) are independent.

    Returns
    -------
    ndarray of float64
        Broadcast shape of ``device_id`` and ``time_index``. [-]

    References
    ----------
    Steele, Lea & Flood 2014 (splitmix64 as a counter-based generator).
    """
    return uniform_from_hash(hash_combine(seed, stream, device_id, time_index))


def _smoothstep(fraction: FloatArray) -> FloatArray:
    return fraction * fraction * (3.0 - 2.0 * fraction)


def value_noise(
    device_id: npt.ArrayLike,
    unix_s: npt.ArrayLike,
    *,
    seed: int,
    stream: int,
    knot_interval_s: int,
) -> FloatArray:
    """
    Smooth noise in [0, 1] over time: hashed knots joined by a smoothstep.

    Parameters
    ----------
    device_id : int or array of int
        Device identifiers.
    unix_s : int or array of int
        Whole seconds since the Unix epoch (exact integers keep it bit-reproducible). [s]
    seed : int
        Simulation seed.
    stream : int
        Stream id (see module constants).
    knot_interval_s : int
        Time between knots; the noise changes on this scale. [s]

    Returns
    -------
    ndarray of float64
        v(t) = u_k + (u_{k+1} - u_k) s(f), k = ⌊t/Δ⌋, f = t/Δ - k, s(f) = 3f² - 2f³,
        with u_k the uniform draw of knot k. Continuous with a continuous derivative. [-]

    References
    ----------
    Perlin 1985 (value noise with the cubic smoothstep).
    """
    seconds = np.asarray(unix_s, dtype=np.int64)
    knot, offset_s = np.divmod(seconds, np.int64(knot_interval_s))
    fraction = offset_s.astype(np.float64) / float(knot_interval_s)
    left = deterministic_uniform(device_id, knot, seed=seed, stream=stream)
    right = deterministic_uniform(device_id, knot + 1, seed=seed, stream=stream)
    return left + (right - left) * _smoothstep(fraction)


def cloud_cover_draw(device_id: npt.ArrayLike, unix_s: npt.ArrayLike, *, seed: int) -> FloatArray:
    """
    A persistent, deterministic cloud-cover fraction for devices at instants.

    Parameters
    ----------
    device_id : int or array of int
        Device identifiers.
    unix_s : int or array of int
        Whole Unix seconds of the tick. [s]
    seed : int
        Simulation seed.

    Returns
    -------
    ndarray of float64
        Cloud cover in [0, 1] (0 clear, 1 overcast). [-]

    Notes
    -----
    Two octaves of ``value_noise``: 0.75 of a slow one (3 h knots) and 0.25 of a fast
    one (20 min knots); a tick-to-tick change over 60 s is therefore at most a few
    percent. The sum is stretched to [0, 1] around 0.5 by 1.6 and clipped, which gives
    clear and overcast spells rather than a permanent half-cloudy sky.

    References
    ----------
    Perlin 1985 (octaves of value noise).
    """
    slow = value_noise(
        device_id, unix_s, seed=seed, stream=STREAM_CLOUD_SLOW, knot_interval_s=SLOW_KNOT_INTERVAL_S
    )
    fast = value_noise(
        device_id, unix_s, seed=seed, stream=STREAM_CLOUD_FAST, knot_interval_s=FAST_KNOT_INTERVAL_S
    )
    mixed = 0.75 * slow + 0.25 * fast
    return np.asarray(np.clip(0.5 + 1.6 * (mixed - 0.5), 0.0, 1.0), dtype=np.float64)


def cloud_factor_from_cover(cloud_cover: Numeric) -> FloatArray:
    """
    Ratio of all-sky to clear-sky global irradiance from the cloud cover.

    Parameters
    ----------
    cloud_cover : numeric
        Cloud cover fraction in [0, 1] (oktas / 8); values outside are clipped. [-]

    Returns
    -------
    ndarray
        k = 1 - 0.75 N^3.4, from 1 (clear) to 0.25 (overcast). [-]

    References
    ----------
    Kasten & Czeplak 1980, eq. 4.
    """
    cover = np.clip(as_float_array(cloud_cover), 0.0, 1.0)
    return np.asarray(1.0 - 0.75 * cover**3.4, dtype=np.float64)


def cloud_factor(
    device_id: npt.ArrayLike,
    unix_s: npt.ArrayLike,
    *,
    seed: int,
    weather_cloud_cover: Numeric | None = None,
) -> FloatArray:
    """
    Cloud factor of solar panels: from weather where known, else a deterministic draw.

    Parameters
    ----------
    device_id : int or array of int
        Device identifiers.
    unix_s : int or array of int
        Whole Unix seconds of the tick. [s]
    seed : int
        Simulation seed.
    weather_cloud_cover : numeric or None, default None
        Observed or forecast cloud cover in [0, 1]; NaN elements (or None for all)
        fall back to ``cloud_cover_draw``. [-]

    Returns
    -------
    ndarray of float64
        Factor in [0.25, 1]. [-]

    References
    ----------
    Kasten & Czeplak 1980; Steele, Lea & Flood 2014.
    """
    drawn = cloud_cover_draw(device_id, unix_s, seed=seed)
    if weather_cloud_cover is None:
        return cloud_factor_from_cover(drawn)
    observed = as_float_array(weather_cloud_cover)
    cover = np.where(np.isnan(observed), drawn, observed)
    return cloud_factor_from_cover(cover)
