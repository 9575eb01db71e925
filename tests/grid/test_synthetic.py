"""The synthetic provider: deterministic, finite, realistic shapes for every signal."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np
import pytest

from grid.providers import synthetic
from grid.providers.base import Signal

SUMMER_NOON_LONDON = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def _day(signal: Signal, region: str, day: datetime) -> dict[int, float]:
    points = synthetic.SyntheticProvider(signal).fetch(region, day, day + timedelta(days=1))
    return {p.start.hour * 60 + p.start.minute: p.value for p in points}


def test_points_cover_the_range_in_whole_intervals_sorted() -> None:
    start = datetime(2026, 3, 1, 10, 10, tzinfo=UTC)
    points = synthetic.SyntheticProvider(Signal.CARBON_INTENSITY).fetch(
        "GB", start, start + timedelta(hours=2)
    )
    assert points[0].start == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert points[-1].end >= start + timedelta(hours=2)
    assert all(a.end == b.start for a, b in pairwise(points))
    assert all((p.end - p.start).total_seconds() == synthetic.SIGNAL_INTERVAL_S for p in points)


@pytest.mark.parametrize("signal", list(Signal))
def test_the_same_question_gets_the_same_answer_and_every_value_is_finite(signal: Signal) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    first = synthetic.SyntheticProvider(signal).fetch(
        "geo:-33,151", start, start + timedelta(days=3)
    )
    again = synthetic.SyntheticProvider(signal).fetch(
        "geo:-33,151", start, start + timedelta(days=3)
    )
    assert first == again
    assert all(np.isfinite(p.value) for p in first)


def test_carbon_is_lower_at_midday_than_at_the_evening_peak() -> None:
    day = _day(Signal.CARBON_INTENSITY, "GB", datetime(2026, 6, 21, tzinfo=UTC))
    # GB's place is 2° west: local solar time is 8 minutes behind UTC.
    assert day[12 * 60] < day[19 * 60]
    assert day[12 * 60] < day[3 * 60]


def test_carbon_is_higher_in_winter_than_in_summer_over_a_day() -> None:
    winter = _day(Signal.CARBON_INTENSITY, "DE", datetime(2026, 1, 15, tzinfo=UTC))
    summer = _day(Signal.CARBON_INTENSITY, "DE", datetime(2026, 7, 15, tzinfo=UTC))
    assert np.mean(list(winter.values())) > np.mean(list(summer.values()))


def test_prices_peak_in_the_evening_and_export_pays_less_than_import() -> None:
    day = datetime(2026, 11, 3, tzinfo=UTC)
    imports = _day(Signal.IMPORT_PRICE, "NL", day)
    exports = _day(Signal.EXPORT_PRICE, "NL", day)
    assert max(imports, key=imports.__getitem__) // 60 in range(16, 21)
    assert all(exports[m] < imports[m] for m in imports)
    assert all(v >= 0 for v in exports.values())


def test_temperature_follows_latitude_season_and_the_hour() -> None:
    july = datetime(2026, 7, 15, tzinfo=UTC)
    january = datetime(2026, 1, 15, tzinfo=UTC)
    oslo_july = _day(Signal.TEMPERATURE, "geo:60,0", july)
    oslo_january = _day(Signal.TEMPERATURE, "geo:60,0", january)
    sydney_january = _day(Signal.TEMPERATURE, "geo:-34,0", january)
    equator = _day(Signal.TEMPERATURE, "geo:0,0", january)
    assert np.mean(list(oslo_july.values())) > np.mean(list(oslo_january.values())) + 15
    assert np.mean(list(sydney_january.values())) > np.mean(list(oslo_january.values()))
    assert np.mean(list(equator.values())) > 20
    assert oslo_july[15 * 60] > oslo_july[4 * 60]


def test_cloud_cover_is_a_fraction_that_moves() -> None:
    points = synthetic.SyntheticProvider(Signal.CLOUD_COVER).fetch(
        "geo:52,-1", datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 8, tzinfo=UTC)
    )
    values = np.array([p.value for p in points])
    assert values.min() >= 0.0 and values.max() <= 1.0
    assert values.std() > 0.05


def test_regions_differ_and_unknown_names_still_get_values() -> None:
    at = SUMMER_NOON_LONDON
    values = synthetic.region_values(Signal.CARBON_INTENSITY, ["GB", "FR", "no-such-place"], at)
    assert len(set(values.tolist())) == 3
    assert synthetic.region_place("no-such-place") == synthetic.DEFAULT_PLACE
    assert synthetic.region_place("geo:-41,174") == (-41.0, 174.0)
