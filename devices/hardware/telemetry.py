"""Telemetry: readings stored in bulk (cold path) and written to the live keys (hot path)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Q

from devices.hardware.common import (
    SEEN_FLUSH_EVERY_MS,
    now_utc,
    pg_array,
)
from devices.hardware.keys import DeviceAuth
from devices.ingest.validation import ValidReading
from devices.live import store
from devices.models import (
    Device,
    DeviceSource,
    Reading,
)

logger = logging.getLogger(__name__)


class NotPhysical(Exception):
    """Only physical devices accept telemetry."""


class DeviceGone(Exception):
    """The key's device no longer exists."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    stored: list[ValidReading]
    #: This caller should flush the devices seen (``heartbeat.seen_flush``): at most once a second.
    flush_due: bool = False

    @property
    def duplicates(self) -> int:
        return self.accepted - len(self.stored)

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "stored": len(self.stored),
            "duplicates": self.duplicates,
            "readings": [
                {"timestamp": r.measured_at.isoformat().replace("+00:00", "Z"), "seq": r.seq}
                for r in self.stored
            ],
        }


def live_ttl_s(interval_s: int) -> int:
    """Live keys of a meter outlive two reporting intervals and two ticks."""
    return max(2 * interval_s, store.ttl_s())


def telemetry_ingest(
    *, device: DeviceAuth, readings: Sequence[ValidReading], received_at: datetime | None = None
) -> IngestResult:
    """Store validated readings (duplicates ignored), then update live state; all or nothing."""
    if device.source != DeviceSource.PHYSICAL:
        raise NotPhysical
    received_at = received_at or now_utc()
    try:
        keys = readings_insert_returning(
            [(device.device_id, r) for r in readings], received_at=received_at
        )
    except IntegrityError:  # the device was deleted after its key check was cached
        raise DeviceGone from None
    stored = []
    for r in readings:  # a batch may hold one instant twice: the first of them was stored
        if (device.device_id, r.measured_at) in keys:
            keys.discard((device.device_id, r.measured_at))
            stored.append(r)
    # Every reading sent, stored now or by an earlier attempt, reaches the live keys: a device
    # re-sending after a failure here completes what that attempt left undone.
    flush_due = telemetry_live([(device, readings)], received_at=received_at, try_flush=True)
    return IngestResult(accepted=len(readings), stored=stored, flush_due=flush_due)


def telemetry_live(
    batches: Iterable[tuple[DeviceAuth, Sequence[ValidReading]]],
    *,
    received_at: datetime,
    mark_seen: bool = True,
    try_flush: bool = False,
) -> bool:
    """Write each device's newest reading to its live key, its readings to the window, and
    record it as seen — one Redis round trip for all devices. With ``try_flush``, True when
    this caller should flush the seen devices now (at most once a second overall)."""
    updates: list[tuple[int, Mapping[str, Any], Sequence[Mapping[str, Any]]]] = []
    seen: dict[int, dict[str, Any]] = {}
    expire_s = store.ttl_s()
    for device, readings in batches:
        seen_value: dict[str, Any] = {"seen_at": received_at.timestamp()}
        if readings:
            distinct: dict[datetime, ValidReading] = {}
            for r in readings:  # one instant once, as stored: the first reading of it
                distinct.setdefault(r.measured_at, r)
            ordered = sorted(distinct.values(), key=lambda r: r.measured_at)
            window = [r.live() for r in ordered]
            # Current until twice the reporting interval after it was measured.
            current = {**window[-1], "until": window[-1]["ts"] + 2 * device.interval_s}
            updates.append((device.device_id, current, window))
            seen_value.update(current)
            expire_s = max(expire_s, live_ttl_s(device.interval_s))
        if mark_seen:
            seen[device.device_id] = seen_value
    lock = ("hardware:seen-flush", SEEN_FLUSH_EVERY_MS) if try_flush else None
    return store.telemetry_write(updates, expire_s=expire_s, seen=seen, lock=lock)


def readings_insert(rows: Sequence[tuple[int, ValidReading]], *, received_at: datetime) -> int:
    """Insert readings in bulk, skipping those already stored; returns how many were new."""
    inserted = _readings_insert(rows, received_at=received_at, returning=False)
    return inserted if isinstance(inserted, int) else len(inserted)


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What became of a batch: stored, already there, or dropped because it can never be."""

    stored: int
    duplicates: int
    #: reason -> readings: ``device_gone`` (deleted after its key check was cached) or
    #: ``unstorable`` (PostgreSQL refuses the row itself).
    dropped: Counter[str] = field(default_factory=Counter)
    #: Devices whose readings were dropped because they no longer exist.
    gone_device_ids: frozenset[int] = frozenset()


def readings_store(
    rows: Sequence[tuple[int, ValidReading]], *, received_at: datetime
) -> StoreResult:
    """Insert readings in bulk like ``readings_insert``, isolating the rows that can never be
    stored, so that one of them never holds back the others: readings of a device that no
    longer exists are dropped, and a row PostgreSQL refuses (found by halving the batch) is
    dropped alone; each drop is counted and logged. A connection error propagates: the
    caller retries the whole batch."""
    dropped: Counter[str] = Counter()
    gone: set[int] = set()
    stored = _store_isolating(list(rows), received_at=received_at, dropped=dropped, gone=gone)
    return StoreResult(
        stored=stored,
        duplicates=len(rows) - stored - sum(dropped.values()),
        dropped=dropped,
        gone_device_ids=frozenset(gone),
    )


def _store_isolating(
    rows: list[tuple[int, ValidReading]],
    *,
    received_at: datetime,
    dropped: Counter[str],
    gone: set[int],
) -> int:
    if not rows:
        return 0
    try:
        with transaction.atomic():  # a failed insert leaves the connection usable
            return readings_insert(rows, received_at=received_at)
    except (IntegrityError, DataError) as exc:  # the rows themselves, not the connection
        error: Exception = exc
    if isinstance(error, IntegrityError):  # a foreign key: a device deleted meanwhile
        device_ids = {d for d, _ in rows}
        existing = set(Device.objects.filter(pk__in=device_ids).values_list("pk", flat=True))
        if missing := device_ids - existing:
            kept = [(d, r) for d, r in rows if d in existing]
            dropped["device_gone"] += len(rows) - len(kept)
            gone.update(missing)
            logger.warning(
                "dropped %d readings of deleted devices %s", len(rows) - len(kept), sorted(missing)
            )
            return _store_isolating(kept, received_at=received_at, dropped=dropped, gone=gone)
    if len(rows) == 1:
        device_id, reading = rows[0]
        dropped["unstorable"] += 1
        logger.warning(
            "dropped a reading PostgreSQL refuses: device %s at %s (%s: %s)",
            device_id,
            reading.measured_at.isoformat(),
            type(error).__name__,
            str(error).splitlines()[0] if str(error) else "",
        )
        return 0
    half = len(rows) // 2
    return _store_isolating(
        rows[:half], received_at=received_at, dropped=dropped, gone=gone
    ) + _store_isolating(rows[half:], received_at=received_at, dropped=dropped, gone=gone)


def readings_insert_returning(
    rows: Sequence[tuple[int, ValidReading]], *, received_at: datetime
) -> set[tuple[int, datetime]]:
    """Insert readings, skipping those already stored (same device and time, or same seq);
    returns the ``(device_id, measured_at)`` of the rows actually inserted."""
    inserted = _readings_insert(rows, received_at=received_at, returning=True)
    return inserted if isinstance(inserted, set) else set()


def _readings_insert(
    rows: Sequence[tuple[int, ValidReading]], *, received_at: datetime, returning: bool
) -> set[tuple[int, datetime]] | int:
    if not rows:
        return set() if returning else 0
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {Reading._meta.db_table} (device_id, measured_at, received_at, seq, "
            "voltage_v, current_a, power_w, energy_wh, frequency_hz, power_factor) "
            "SELECT d, m, %s, s, v, c, p, e, f, pf FROM unnest("
            "%s::bigint[], %s::timestamptz[], %s::bigint[], %s::float8[], %s::float8[], "
            "%s::float8[], %s::float8[], %s::float8[], %s::float8[]) "
            "AS t(d, m, s, v, c, p, e, f, pf) "
            "ON CONFLICT DO NOTHING"
        )
        # Array literals built here: psycopg's list adapter costs more than the insert itself.
        params: list[Any] = [
            received_at,
            pg_array(d for d, _ in rows),
            pg_array(f'"{r.measured_at.isoformat()}"' for _, r in rows),
            pg_array("NULL" if r.seq is None else r.seq for _, r in rows),
            pg_array(r.voltage_v for _, r in rows),
            pg_array(r.current_a for _, r in rows),
            pg_array(r.power_w for _, r in rows),
            pg_array(r.energy_wh for _, r in rows),
            pg_array(r.frequency_hz for _, r in rows),
            pg_array(r.power_factor for _, r in rows),
        ]
        with connection.cursor() as cursor:
            if returning:
                cursor.execute(sql + " RETURNING device_id, measured_at", params)
                return {(d, m.astimezone(UTC)) for d, m in cursor.fetchall()}
            cursor.execute(sql, params)
            return int(cursor.rowcount)
    return _readings_insert_portable(rows, received_at=received_at)


def _readings_insert_portable(
    rows: Sequence[tuple[int, ValidReading]], *, received_at: datetime
) -> set[tuple[int, datetime]]:
    """The same for other databases (SQLite in development): slower, not for load."""
    device_ids = {d for d, _ in rows}
    times = [r.measured_at for _, r in rows]
    seqs = [r.seq for _, r in rows if r.seq is not None]
    existing = set(
        Reading.objects.filter(device_id__in=device_ids)
        .filter(Q(measured_at__in=times) | Q(seq__in=seqs))
        .values_list("device_id", "measured_at", "seq")
    )
    taken_times = {(d, m) for d, m, _ in existing}
    taken_seqs = {(d, s) for d, _, s in existing if s is not None}
    fresh: list[Reading] = []
    inserted: set[tuple[int, datetime]] = set()
    for device_id, r in rows:
        if (device_id, r.measured_at) in taken_times or (device_id, r.seq) in taken_seqs:
            continue
        taken_times.add((device_id, r.measured_at))
        if r.seq is not None:
            taken_seqs.add((device_id, r.seq))
        inserted.add((device_id, r.measured_at))
        fresh.append(
            Reading(
                device_id=device_id,
                measured_at=r.measured_at,
                received_at=received_at,
                seq=r.seq,
                voltage_v=r.voltage_v,
                current_a=r.current_a,
                power_w=r.power_w,
                energy_wh=r.energy_wh,
                frequency_hz=r.frequency_hz,
                power_factor=r.power_factor,
            )
        )
    Reading.objects.bulk_create(fresh, ignore_conflicts=True)
    return inserted
