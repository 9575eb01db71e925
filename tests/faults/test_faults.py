"""Faults under a running platform: what each loses, duplicates, and how soon it recovers.

Every scenario starts its own PostgreSQL, Redis and Mosquitto, the platform's processes as
``make run`` starts them and emulated meters (tests/faults/rig.py), lets the farm tick, injects
one fault, lets it recover, stops the meters and counts. No reading may be lost or duplicated;
ticks lost and the time to recover are measured and reported in the session's table (and
docs/reliability.md), not asserted on.
"""

from __future__ import annotations

import glob
import random
import time
from collections.abc import Callable

import pytest

from tests.faults.rig import Counts, Rig

pytestmark = pytest.mark.faults

Record = Callable[[str, Counts], None]
SETTLE_S = 10.0  # running normally after the fault, before counting


def _settle_and_count(rig: Rig, start: float, fault_end: float) -> Counts:
    time.sleep(SETTLE_S)
    end = time.time()
    rig.stop_meters()
    return rig.count(window=(start, end), fault_end=fault_end)


def _no_reading_lost(counts: Counts) -> None:
    assert counts.readings_sent > 0
    assert counts.readings_lost == 0, counts
    assert counts.readings_duplicated == 0, counts
    assert counts.ticks_duplicated == 0, counts


def _mid_tick(rig: Rig) -> None:
    """Return while a tick is running (claimed, not yet finalized)."""
    deadline = time.monotonic() + 30
    while not rig.tick_running():
        assert time.monotonic() < deadline, "no tick seen running"
        time.sleep(0.01)


def test_redis_restarted_mid_tick(make_rig: Callable[..., Rig], record: Record) -> None:
    rig = make_rig()
    rig.start()
    start = time.time()
    _mid_tick(rig)
    rig.servers.redis.stop()
    time.sleep(2)
    rig.servers.redis.start()
    fault_end = time.time()
    counts = _settle_and_count(rig, start, fault_end)
    record("Redis restarted mid-tick (2 s down)", counts)
    _no_reading_lost(counts)


def test_postgres_restarted_mid_tick(make_rig: Callable[..., Rig], record: Record) -> None:
    rig = make_rig()
    rig.start()
    start = time.time()
    _mid_tick(rig)
    rig.servers.postgres.stop()
    time.sleep(2)
    rig.servers.postgres.start()
    fault_end = time.time()
    counts = _settle_and_count(rig, start, fault_end)
    record("PostgreSQL restarted mid-tick (2 s down)", counts)
    _no_reading_lost(counts)


def test_postgres_restarted_mid_ingest(make_rig: Callable[..., Rig], record: Record) -> None:
    rig = make_rig()
    rig.start()
    start = time.time()
    before = rig.readings_stored()
    rig.wait_for(lambda: rig.readings_stored() > before, "readings arriving", 30)
    rig.servers.postgres.stop()
    time.sleep(10)
    rig.servers.postgres.start()
    fault_end = time.time()
    counts = _settle_and_count(rig, start, fault_end)
    record("PostgreSQL restarted mid-ingest (10 s down)", counts)
    _no_reading_lost(counts)


def test_celery_broker_down_30_s(make_rig: Callable[..., Rig], record: Record) -> None:
    rig = make_rig()
    rig.start()
    start = time.time()
    rig.servers.redis.stop()
    time.sleep(30)
    rig.servers.redis.start()
    fault_end = time.time()
    counts = _settle_and_count(rig, start, fault_end)
    record("Celery broker (Redis) down 30 s", counts)
    _no_reading_lost(counts)


def test_mosquitto_restarted_under_meters(make_rig: Callable[..., Rig], record: Record) -> None:
    rig = make_rig()
    rig.start()
    start = time.time()
    rig.servers.mosquitto.stop()
    time.sleep(3)
    rig.servers.mosquitto.start()
    fault_end = time.time()
    counts = _settle_and_count(rig, start, fault_end)
    record("Mosquitto restarted under meters (3 s down)", counts)
    _no_reading_lost(counts)


def test_worker_sigkilled_at_random_over_50_ticks(
    make_rig: Callable[..., Rig], record: Record
) -> None:
    seed = random.randrange(1 << 32)
    print(f"worker kills: random seed {seed}")
    draw = random.Random(seed)
    rig = make_rig(tick_s=1)
    rig.start()
    start = time.time()
    kills = 0
    while time.time() - start < 50 * rig.tick_s:
        time.sleep(draw.uniform(2.0, 8.0) * rig.tick_s)
        rig.kill("worker")
        kills += 1
        rig.worker()
    fault_end = time.time()
    counts = _settle_and_count(rig, start, fault_end)
    counts.notes.append(f"{kills} kills, seed {seed}")
    record(f"worker SIGKILLed {kills}× over 50 ticks (seed {seed})", counts)
    _no_reading_lost(counts)


def test_two_beats(make_rig: Callable[..., Rig], record: Record) -> None:
    rig = make_rig()
    rig.start()
    start = time.time()
    rig.beat("beat-2")
    time.sleep(10 * rig.tick_s)
    fault_end = time.time()
    counts = _settle_and_count(rig, start, fault_end)
    record("two beats for 10 ticks", counts)
    _no_reading_lost(counts)


def _clock_jump(make_rig: Callable[..., Rig], record: Record, offset: str) -> None:
    """Worker and beat under libfaketime (Debian's faketime package), their clocks offset by
    what a file says, read at every call: ``+0``, then ``offset`` for the rest of the run.

    libfaketime 0.9.10 moves the monotonic clock with the wall clock (left alone, Python's
    ``time.sleep`` fails with EINVAL under it), so this jump is harsher than an NTP step, which
    leaves the monotonic clock alone.
    """
    library = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)
    assert library, "the clock scenarios need libfaketime (apt-get install faketime)"
    rig = make_rig()
    clock = rig.workdir / "clock"
    clock.write_text("+0\n")
    env = {
        **rig.env,
        "LD_PRELOAD": library,
        "FAKETIME_TIMESTAMP_FILE": str(clock),
        "FAKETIME_NO_CACHE": "1",
    }
    rig.start(farm_env=env)
    start = time.time()
    time.sleep(2 * rig.tick_s)
    clock.write_text(f"{offset}\n")
    fault_end = time.time()
    time.sleep(5 * rig.tick_s)
    counts = _settle_and_count(rig, start, fault_end)
    record(f"wall clock of worker and beat jumps {offset} s", counts)
    _no_reading_lost(counts)


def test_wall_clock_jumps_an_hour_forward(make_rig: Callable[..., Rig], record: Record) -> None:
    _clock_jump(make_rig, record, "+3600")


def test_wall_clock_jumps_an_hour_back(make_rig: Callable[..., Rig], record: Record) -> None:
    _clock_jump(make_rig, record, "-3600")
