"""
The built-in synthetic provider: deterministic, realistic shapes for every signal, offline.

Each value depends only on (signal, region, interval): the same question always gets the same
answer, in any process, so it is the last fallback of the resolver and the default provider of
every signal (``make run`` works without internet access). Values are constant over an interval
of ``SIGNAL_INTERVAL_S`` and evaluated at its middle.

Shapes (local solar time ``h`` from the region's longitude; ``summer`` is +1 at the local
summer solstice and -1 at the winter one, by hemisphere):

- carbon intensity: a regional base (150–450 gCO2e/kWh, from the region's name) raised in winter,
  lowered around midday by solar (more in summer), raised by the evening peak (18–20 h), with a
  smooth day-to-day variation of ±10 %;
- import price: a day-ahead-like wholesale curve (morning and evening peaks, a midday solar dip,
  dearer in winter) plus fixed network charges; export price: 60 % of the wholesale part;
- cloud cover: smooth noise over 3-hour knots, cloudier in winter;
- temperature: an annual mean falling with latitude, a seasonal swing growing with latitude and
  a daily swing peaking at 15 h, damped by cloud.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from grid.providers.base import Point, Signal
from simulators.physics.clouds import hash_combine, uniform_from_hash

FloatArray = npt.NDArray[np.float64]

NAME = "synthetic"
SIGNAL_INTERVAL_S = 1800
"""The length of one synthetic value, and of a signal interval in the resolver. [s]"""

_SECONDS_PER_DAY = 86_400
_DAYS_PER_YEAR = 365.2425
_SUMMER_SOLSTICE_DOY = 172.0
_CLOUD_KNOT_S = 3 * 3600
_STREAM_CLOUD = 0x67726964636C6F75
_STREAM_DAY = 0x6772696464617901

_GEO_REGION = re.compile(r"^geo:(-?\d{1,2}),(-?\d{1,3})$")
NAMED_REGIONS: Mapping[str, tuple[float, float]] = {
    "GB": (54.0, -2.0),
    "IE": (53.0, -8.0),
    "FR": (46.5, 2.5),
    "DE": (51.0, 10.0),
    "NL": (52.2, 5.3),
    "BE": (50.6, 4.6),
    "ES": (40.0, -3.7),
    "IT": (42.8, 12.5),
    "DK": (56.0, 10.0),
    "SE": (62.0, 15.0),
    "NO": (61.0, 9.0),
    "PL": (52.0, 19.0),
    "AT": (47.5, 14.5),
    "CH": (46.8, 8.2),
    "PT": (39.5, -8.0),
}
"""Named regions the synthetic shapes know the place of; ``geo:<lat>,<lon>`` names its own."""
DEFAULT_PLACE = (45.0, 0.0)
"""The place assumed for a region name the synthetic provider does not know. [deg]"""


@lru_cache(maxsize=65536)
def region_place(region: str) -> tuple[float, float]:
    """Latitude and longitude [deg] the synthetic shapes use for ``region``."""
    match = _GEO_REGION.match(region)
    if match is not None:
        lat, lon = float(match.group(1)), float(match.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon
    return NAMED_REGIONS.get(region.upper(), DEFAULT_PLACE)


@lru_cache(maxsize=65536)
def region_key(region: str) -> int:
    """A stable integer for ``region`` (the same in every process, unlike ``hash``)."""
    return zlib.crc32(region.encode("utf-8"))


def _bump(hour: FloatArray, centre: float, width: float) -> FloatArray:
    # A Gaussian bump on the 24-hour circle.
    delta = (hour - centre + 12.0) % 24.0 - 12.0
    return np.asarray(np.exp(-0.5 * (delta / width) ** 2))


def _solar_shape(hour: FloatArray) -> FloatArray:
    return np.asarray(np.clip(np.sin(np.pi * (hour - 6.0) / 12.0), 0.0, None))


def values(
    signal: Signal,
    *,
    latitude_deg: npt.ArrayLike,
    longitude_deg: npt.ArrayLike,
    key: npt.ArrayLike,
    unix_s: npt.ArrayLike,
) -> FloatArray:
    """
    The synthetic value of ``signal`` for places and instants (broadcast together).

    ``key`` is the region's stable integer (``region_key``); ``unix_s`` the instant at which the
    value is evaluated (the middle of its interval). Units are those of ``Signal``.
    """
    lat = np.asarray(latitude_deg, dtype=np.float64)
    lon = np.asarray(longitude_deg, dtype=np.float64)
    keys = np.asarray(key, dtype=np.uint64)
    seconds = np.asarray(unix_s, dtype=np.float64)
    day = np.floor(seconds / _SECONDS_PER_DAY)
    hour = ((seconds % _SECONDS_PER_DAY) / 3600.0 + lon / 15.0) % 24.0
    day_of_year = (day + 0.5) % _DAYS_PER_YEAR
    northern = np.where(lat >= 0.0, 1.0, -1.0)
    summer = northern * np.cos(2.0 * np.pi * (day_of_year - _SUMMER_SOLSTICE_DOY) / _DAYS_PER_YEAR)
    winter = (1.0 - summer) / 2.0  # 0 at midsummer, 1 at midwinter
    solar = _solar_shape(hour)
    evening = _bump(hour, 19.0, 1.6)
    morning = _bump(hour, 8.0, 1.3)
    # A smooth day-to-day variation in [-1, 1], the same for every signal of a region and day.
    day_index = day.astype(np.int64)
    daily = 2.0 * uniform_from_hash(hash_combine(_STREAM_DAY, keys, day_index)) - 1.0
    if signal is Signal.CARBON_INTENSITY:
        base = 150.0 + 300.0 * uniform_from_hash(hash_combine(keys))
        shape = 1.0 + 0.15 * winter + 0.25 * evening - 0.3 * solar * (0.6 + 0.4 * (1.0 - winter))
        return np.asarray(np.maximum(base * shape * (1.0 + 0.1 * daily), 20.0))
    wholesale = (
        (0.08 + 0.06 * evening + 0.03 * morning - 0.05 * solar * (1.0 - 0.5 * winter))
        * (1.0 + 0.35 * winter)
        * (1.0 + 0.15 * daily)
    )
    if signal is Signal.IMPORT_PRICE:
        return np.asarray(0.12 + wholesale)
    if signal is Signal.EXPORT_PRICE:
        return np.asarray(np.maximum(0.6 * wholesale, 0.0))
    cloud = _cloud(keys, seconds, winter)
    if signal is Signal.CLOUD_COVER:
        return cloud
    if signal is Signal.TEMPERATURE:
        mean_c = 27.0 - 0.4 * np.abs(lat)
        seasonal_c = 0.25 * np.abs(lat) * summer
        daily_c = (5.0 - 3.0 * cloud) * np.cos(2.0 * np.pi * (hour - 15.0) / 24.0)
        return np.asarray(mean_c + seasonal_c + daily_c + 1.5 * daily)
    msg = f"no synthetic shape for {signal!r}"
    raise ValueError(msg)


def _cloud(keys: npt.NDArray[np.uint64], seconds: FloatArray, winter: FloatArray) -> FloatArray:
    knot, offset = np.divmod(seconds, float(_CLOUD_KNOT_S))
    knots = knot.astype(np.int64)
    left = uniform_from_hash(hash_combine(_STREAM_CLOUD, keys, knots))
    right = uniform_from_hash(hash_combine(_STREAM_CLOUD, keys, knots + 1))
    fraction = offset / float(_CLOUD_KNOT_S)
    noise = left + (right - left) * fraction * fraction * (3.0 - 2.0 * fraction)
    return np.asarray(np.clip(0.1 + 0.55 * noise + 0.3 * winter * noise, 0.0, 1.0))


def interval_start(at: datetime) -> datetime:
    """The start of the signal interval holding ``at`` (aware, UTC)."""
    seconds = math.floor(at.timestamp())
    return datetime.fromtimestamp(seconds - seconds % SIGNAL_INTERVAL_S, tz=UTC)


def region_values(signal: Signal, regions: list[str], at: datetime) -> FloatArray:
    """The synthetic value of ``signal`` for each region over the interval holding ``at``."""
    return regions_values([signal], regions, at)[signal]


def regions_values(
    signals: list[Signal], regions: list[str], at: datetime
) -> dict[Signal, FloatArray]:
    """The synthetic values of several signals for each region over the interval holding ``at``
    (the regions' places worked out once)."""
    places = np.array([region_place(r) for r in regions], dtype=np.float64).reshape(-1, 2)
    keys = np.array([region_key(r) for r in regions], dtype=np.uint64)
    middle = interval_start(at).timestamp() + SIGNAL_INTERVAL_S / 2
    return {
        signal: values(
            signal, latitude_deg=places[:, 0], longitude_deg=places[:, 1], key=keys, unix_s=middle
        )
        for signal in signals
    }


class SyntheticProvider:
    """The provider of ``signal`` from the synthetic shapes: never fails, never leaves a gap."""

    name = NAME

    def __init__(self, signal: Signal) -> None:
        self.signal = signal

    def fetch(self, region: str, start: datetime, end: datetime) -> list[Point]:
        """One point per signal interval overlapping ``[start, end)``."""
        first = interval_start(start)
        count = max(0, math.ceil((end - first).total_seconds() / SIGNAL_INTERVAL_S))
        if count == 0:
            return []
        lat, lon = region_place(region)
        starts = first.timestamp() + SIGNAL_INTERVAL_S * np.arange(count, dtype=np.float64)
        points = values(
            self.signal,
            latitude_deg=lat,
            longitude_deg=lon,
            key=region_key(region),
            unix_s=starts + SIGNAL_INTERVAL_S / 2,
        )
        step = timedelta(seconds=SIGNAL_INTERVAL_S)
        return [
            Point(start=first + i * step, end=first + (i + 1) * step, value=float(value))
            for i, value in enumerate(points)
        ]


def build(signal: Signal, spec: Mapping[str, Any]) -> SyntheticProvider:
    """The registry's constructor for ``{"kind": "synthetic"}`` (no options)."""
    return SyntheticProvider(signal)
