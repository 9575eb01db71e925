"""
Shared array types and the normalisation of instants.

Every physics function takes time as an argument. An instant is an aware
``datetime`` (any zone; converted to UTC), a ``numpy.datetime64`` (taken as UTC, as
numpy has no zones), or a sequence or array of either. A naive ``datetime`` is
refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
UIntArray: TypeAlias = npt.NDArray[np.uint64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Numeric: TypeAlias = npt.ArrayLike
Instant: TypeAlias = (
    datetime | np.datetime64 | Sequence[datetime] | Sequence[np.datetime64] | npt.NDArray[Any]
)

SECONDS_PER_DAY = 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)
_ONE_MICROSECOND = timedelta(microseconds=1)


def as_float_array(value: Numeric) -> FloatArray:
    """
    Return ``value`` as a float64 ndarray (0-d for a scalar), without copying if possible.

    Parameters
    ----------
    value : numeric
        Scalar, sequence or array.

    Returns
    -------
    ndarray of float64
    """
    return np.asarray(value, dtype=np.float64)


def _datetime_to_microseconds(at: datetime) -> int:
    if at.tzinfo is None or at.utcoffset() is None:
        msg = "naive datetime: pass an aware UTC datetime (or numpy.datetime64, taken as UTC)"
        raise ValueError(msg)
    return (at - _EPOCH) // _ONE_MICROSECOND


def unix_microseconds(at: Instant) -> IntArray:
    """
    Microseconds since 1970-01-01T00:00Z of one or many instants, as exact integers.

    Parameters
    ----------
    at : datetime, numpy.datetime64, or a sequence/array of them
        Aware datetimes (any zone) or datetime64 values (taken as UTC).

    Returns
    -------
    ndarray of int64
        Same shape as ``at`` (0-d for a single instant). [µs]

    Raises
    ------
    ValueError
        If a ``datetime`` is naive.
    """
    if isinstance(at, datetime):
        return np.asarray(_datetime_to_microseconds(at), dtype=np.int64)
    if isinstance(at, np.datetime64):
        return np.asarray(at.astype("datetime64[us]").astype(np.int64), dtype=np.int64)
    array = np.asarray(at)
    if array.dtype.kind == "M":
        return array.astype("datetime64[us]").astype(np.int64)
    if array.dtype == object:
        flat = [_datetime_to_microseconds(item) for item in array.ravel()]
        return np.asarray(flat, dtype=np.int64).reshape(array.shape)
    msg = f"cannot read instants from an array of dtype {array.dtype}"
    raise TypeError(msg)


def unix_seconds(at: Instant) -> FloatArray:
    """
    Seconds since 1970-01-01T00:00Z of one or many instants.

    Parameters
    ----------
    at : datetime, numpy.datetime64, or a sequence/array of them
        Aware datetimes or datetime64 values (taken as UTC).

    Returns
    -------
    ndarray of float64
        Same shape as ``at``; float64 resolves 2026 to better than 1 µs. [s]
    """
    microseconds = unix_microseconds(at)
    whole, fraction = np.divmod(microseconds, 1_000_000)
    return whole.astype(np.float64) + fraction.astype(np.float64) * 1e-6


def unix_whole_seconds(at: Instant) -> IntArray:
    """
    Whole seconds since 1970-01-01T00:00Z (floored), exact, for hashing ticks.

    Parameters
    ----------
    at : datetime, numpy.datetime64, or a sequence/array of them

    Returns
    -------
    ndarray of int64
        [s]
    """
    return np.floor_divide(unix_microseconds(at), 1_000_000)


def utc_datetime(at: datetime) -> datetime:
    """
    Return an aware ``datetime`` converted to UTC; refuse a naive one.

    Parameters
    ----------
    at : datetime
        Aware instant in any zone.

    Returns
    -------
    datetime
        The same instant with ``tzinfo=UTC``.
    """
    _datetime_to_microseconds(at)
    return at.astimezone(UTC)


__all__ = [
    "SECONDS_PER_DAY",
    "BoolArray",
    "FloatArray",
    "Instant",
    "IntArray",
    "Numeric",
    "UIntArray",
    "as_float_array",
    "unix_microseconds",
    "unix_seconds",
    "unix_whole_seconds",
    "utc_datetime",
]
