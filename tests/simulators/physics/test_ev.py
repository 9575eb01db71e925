"""Electric vehicles: local-time schedule across DST changes, driving, charging, V2H."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from simulators.physics import ev
from simulators.physics.ev import ALL_DAYS_MASK, WEEKDAYS_MASK, EvParams

LOS_ANGELES = "America/Los_Angeles"
BERLIN = "Europe/Berlin"
ZONES = (LOS_ANGELES, BERLIN)


def away_at(at: datetime, zone: str, days_mask: int = WEEKDAYS_MASK) -> bool:
    clock = ev.zone_clock(at, (zone,))
    return bool(
        ev.ev_is_away(
            clock.weekday,
            clock.seconds_of_day,
            days_mask=days_mask,
            departure_s=7 * 3600,
            arrival_s=18 * 3600,
        )[0]
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "zone", "days_mask", "expected"),
    [
        # Los Angeles, weekdays: 07:00 is 15:00 UTC in PST and 14:00 UTC in PDT.
        (utc(2026, 3, 6, 14, 59), LOS_ANGELES, WEEKDAYS_MASK, False),  # Fri 06:59 PST
        (utc(2026, 3, 6, 15, 0), LOS_ANGELES, WEEKDAYS_MASK, True),  # Fri 07:00 PST
        (utc(2026, 3, 9, 13, 59), LOS_ANGELES, WEEKDAYS_MASK, False),  # Mon 06:59 PDT
        (utc(2026, 3, 9, 14, 0), LOS_ANGELES, WEEKDAYS_MASK, True),  # Mon 07:00 PDT
        (utc(2026, 3, 10, 0, 59), LOS_ANGELES, WEEKDAYS_MASK, True),  # Mon 17:59 PDT
        (utc(2026, 3, 10, 1, 0), LOS_ANGELES, WEEKDAYS_MASK, False),  # Mon 18:00 PDT
        (utc(2026, 3, 8, 14, 0), LOS_ANGELES, WEEKDAYS_MASK, False),  # Sunday: no trip
        # The US change days themselves (Sundays), with trips every day.
        (utc(2026, 3, 8, 13, 59), LOS_ANGELES, ALL_DAYS_MASK, False),  # 06:59 PDT
        (utc(2026, 3, 8, 14, 0), LOS_ANGELES, ALL_DAYS_MASK, True),  # 07:00 PDT
        (utc(2026, 3, 7, 14, 0), LOS_ANGELES, ALL_DAYS_MASK, False),  # Sat 06:00 PST
        (utc(2026, 11, 1, 14, 59), LOS_ANGELES, ALL_DAYS_MASK, False),  # 06:59 PST
        (utc(2026, 11, 1, 15, 0), LOS_ANGELES, ALL_DAYS_MASK, True),  # 07:00 PST
        (utc(2026, 10, 31, 14, 0), LOS_ANGELES, ALL_DAYS_MASK, True),  # Sat 07:00 PDT
        (utc(2026, 11, 2, 1, 59), LOS_ANGELES, ALL_DAYS_MASK, True),  # Sun 17:59 PST
        (utc(2026, 11, 2, 2, 0), LOS_ANGELES, ALL_DAYS_MASK, False),  # Sun 18:00 PST
        # Berlin, weekdays: 07:00 is 06:00 UTC in CET and 05:00 UTC in CEST.
        (utc(2026, 3, 27, 5, 59), BERLIN, WEEKDAYS_MASK, False),  # Fri 06:59 CET
        (utc(2026, 3, 27, 6, 0), BERLIN, WEEKDAYS_MASK, True),  # Fri 07:00 CET
        (utc(2026, 3, 30, 4, 59), BERLIN, WEEKDAYS_MASK, False),  # Mon 06:59 CEST
        (utc(2026, 3, 30, 5, 0), BERLIN, WEEKDAYS_MASK, True),  # Mon 07:00 CEST
        (utc(2026, 3, 30, 15, 59), BERLIN, WEEKDAYS_MASK, True),  # Mon 17:59 CEST
        (utc(2026, 3, 30, 16, 0), BERLIN, WEEKDAYS_MASK, False),  # Mon 18:00 CEST
        # The EU change days (Sundays), with trips every day.
        (utc(2026, 3, 29, 4, 59), BERLIN, ALL_DAYS_MASK, False),  # 06:59 CEST
        (utc(2026, 3, 29, 5, 0), BERLIN, ALL_DAYS_MASK, True),  # 07:00 CEST
        (utc(2026, 10, 25, 5, 59), BERLIN, ALL_DAYS_MASK, False),  # 06:59 CET
        (utc(2026, 10, 25, 6, 0), BERLIN, ALL_DAYS_MASK, True),  # 07:00 CET
        (utc(2026, 10, 25, 16, 59), BERLIN, ALL_DAYS_MASK, True),  # 17:59 CET
        (utc(2026, 10, 25, 17, 0), BERLIN, ALL_DAYS_MASK, False),  # 18:00 CET
        (utc(2026, 10, 24, 5, 0), BERLIN, ALL_DAYS_MASK, True),  # Sat 07:00 CEST
    ],
)
def test_away_schedule_at_known_instants(
    at: datetime, zone: str, days_mask: int, expected: bool
) -> None:
    assert away_at(at, zone, days_mask) is expected


def test_zone_clock_reads_local_wall_time_on_change_days() -> None:
    clock = ev.zone_clock(utc(2026, 3, 29, 1, 30), (BERLIN, LOS_ANGELES))
    # 01:30 UTC on 29 March: 03:30 CEST in Berlin (just after the jump), 18:30 PDT on the 28th.
    np.testing.assert_array_equal(clock.seconds_of_day, [3.5 * 3600, 18.5 * 3600])
    np.testing.assert_array_equal(clock.weekday, [6, 5])
    np.testing.assert_array_equal(clock.utc_offset_s, [7200, -7 * 3600])


@pytest.mark.parametrize(
    ("zone", "arrival_day", "hours"),
    [
        (LOS_ANGELES, "2026-03-08", 7.0),  # spring forward during the night
        (LOS_ANGELES, "2026-11-01", 9.0),  # fall back during the night
        (BERLIN, "2026-03-29", 7.0),
        (BERLIN, "2026-10-25", 9.0),
        (BERLIN, "2026-10-26", 8.0),
    ],
)
def test_overnight_trip_duration_is_dst_correct(zone: str, arrival_day: str, hours: float) -> None:
    ordinal = datetime.fromisoformat(arrival_day).toordinal()
    duration_s = ev.ev_trip_duration_s(
        [0], [ordinal], departure_s=22 * 3600, arrival_s=6 * 3600, timezones=(zone,)
    )
    assert float(duration_s[0]) == hours * 3600.0


def test_overnight_schedule_spans_midnight() -> None:
    seconds = np.array([21.9, 22.0, 23.9, 0.5, 5.9, 6.0]) * 3600
    weekday = np.array([0, 0, 0, 1, 1, 1])  # Monday evening into Tuesday morning
    away = ev.ev_is_away(
        weekday, seconds, days_mask=0b0000001, departure_s=22 * 3600, arrival_s=6 * 3600
    )
    np.testing.assert_array_equal(away, [False, True, True, True, True, False])


def test_mode_codes_and_names_round_trip() -> None:
    names = ["idle", "charging", "discharging", "offline"]
    codes = ev.ev_mode_codes(names)
    np.testing.assert_array_equal(codes, [0, 1, 2, 3])
    assert list(ev.ev_mode_names(codes)) == names
    assert int(ev.ev_mode_codes("offline")) == ev.EV_MODE_OFFLINE
    with pytest.raises(ValueError, match="unknown EV mode"):
        ev.ev_mode_codes(["flying"])


def test_a_week_of_ticks_shows_departures_returns_driving_and_charging() -> None:
    # One car in Los Angeles, one in Berlin, default weekday schedule, minute ticks from
    # Saturday 2026-03-07 12:00 UTC for a week: it crosses the US DST change (Sun 8th).
    params = EvParams(
        battery_capacity_wh=60_000.0,
        max_charge_w=7_400.0,
        max_discharge_w=5_000.0,
        charge_efficiency=0.9,
        target_soc=0.9,
        driving_wh_per_hour=1_000.0,
    )
    requested = ev.ev_mode_codes(["charging", "charging"])
    level = np.array([30_000.0, 30_000.0])
    mode = None
    departures: list[tuple[int, datetime]] = []
    returns: list[tuple[int, datetime, float]] = []
    reached_target: list[int] = []
    tick = utc(2026, 3, 7, 12)
    for _ in range(7 * 24 * 60):
        tick += timedelta(minutes=1)
        step = ev.ev_tick(
            level,
            tick_at=tick,
            timezones=ZONES,
            zone_index=[0, 1],
            params=params,
            requested_mode=requested,
            dt_s=60.0,
            previous_mode=mode,
        )
        for car in (0, 1):
            if step.mode[car] == ev.EV_MODE_OFFLINE and (mode is None or mode[car] != 3):
                departures.append((car, tick))
            if step.driven_wh[car] > 0:
                returns.append((car, tick, float(step.driven_wh[car])))
            if mode is not None and mode[car] == ev.EV_MODE_CHARGING and step.mode[car] == 0:
                reached_target.append(car)
            # Away cars are offline, frozen, with no flow; home cars never exceed the target.
            if step.away[car]:
                assert step.flow_w[car] == 0.0
                assert step.level_wh[car] == level[car]
            assert step.level_wh[car] <= 54_000.0 + 1e-9
        level, mode = step.level_wh, step.mode

    la_departures = [at for car, at in departures if car == 0]
    berlin_departures = [at for car, at in departures if car == 1]
    # Mon-Fri 9-13 March: 07:00 PDT = 14:00 UTC; 07:00 CET = 06:00 UTC.
    assert la_departures == [utc(2026, 3, day, 14) for day in range(9, 14)]
    assert berlin_departures == [utc(2026, 3, day, 6) for day in range(9, 14)]
    la_returns = [(at, wh) for car, at, wh in returns if car == 0]
    berlin_returns = [(at, wh) for car, at, wh in returns if car == 1]
    assert [at for at, _ in la_returns] == [utc(2026, 3, day + 1, 1) for day in range(9, 14)]
    assert [at for at, _ in berlin_returns] == [utc(2026, 3, day, 17) for day in range(9, 14)]
    # 11 h away at 1 kWh/h, reported on return.
    assert all(wh == pytest.approx(11_000.0) for _, wh in la_returns + berlin_returns)
    # Each car charged to its 90 % target at the start and after every trip.
    assert reached_target.count(0) == 6
    assert reached_target.count(1) == 6
    np.testing.assert_allclose(level, [54_000.0, 54_000.0])


def test_charging_rate_and_losses() -> None:
    params = EvParams(battery_capacity_wh=60_000.0, max_charge_w=7_400.0, max_discharge_w=0.0)
    step = ev.ev_tick(
        [10_000.0],
        tick_at=utc(2026, 3, 7, 12),  # Saturday: home all day
        timezones=ZONES,
        zone_index=[0],
        params=params,
        requested_mode=[ev.EV_MODE_CHARGING],
        dt_s=3600.0,
    )
    assert float(step.flow_w[0]) == 7_400.0
    assert float(step.level_wh[0]) == pytest.approx(10_000.0 + 0.9 * 7_400.0)
    assert int(step.mode[0]) == ev.EV_MODE_CHARGING


def test_v2h_discharges_to_reserve_then_idles() -> None:
    params = EvParams(
        battery_capacity_wh=50_000.0,
        max_charge_w=7_400.0,
        max_discharge_w=5_000.0,
        reserve_soc=0.3,
    )
    level = np.array([17_000.0])
    modes = []
    flows = []
    for hour in range(4):
        step = ev.ev_tick(
            level,
            tick_at=utc(2026, 3, 7, 12 + hour),
            timezones=ZONES,
            zone_index=[1],
            params=params,
            requested_mode=[ev.EV_MODE_DISCHARGING],
            dt_s=3600.0,
            v2h_request_w=[4_000.0],
        )
        level = step.level_wh
        modes.append(int(step.mode[0]))
        flows.append(float(step.flow_w[0]))
    assert flows == pytest.approx([-2_000.0, 0.0, 0.0, 0.0])
    assert modes == [ev.EV_MODE_DISCHARGING, 0, 0, 0]
    assert float(level[0]) == pytest.approx(15_000.0)


def test_scalar_and_array_forms_agree() -> None:
    seconds = np.linspace(0, 86_399, 97)
    many = ev.ev_is_away(3, seconds, days_mask=WEEKDAYS_MASK, departure_s=25_200, arrival_s=64_800)
    for i, value in enumerate(seconds):
        one = ev.ev_is_away(
            3, float(value), days_mask=WEEKDAYS_MASK, departure_s=25_200, arrival_s=64_800
        )
        assert bool(one) == bool(many[i])
