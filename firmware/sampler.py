"""Turns meter reads into telemetry readings with a timestamp and a per-device sequence number."""

from firmware import platform
from firmware.pzem import PzemError

try:
    from typing import Any
except ImportError:
    pass

try:
    import os
except ImportError:
    import uos as os  # type: ignore[import-not-found, no-redef, unused-ignore]

MIN_INTERVAL_S = 1
MAX_INTERVAL_S = 3600
READING_FIELDS = ("voltage", "current", "power", "energy", "frequency", "power_factor")


class SeqCounter:
    """Monotonically increasing sequence numbers that survive a reboot.

    With a ``path`` it writes a reservation (next number + ``block``) to flash only once
    every ``block`` numbers, so a board sampling every 10 s writes flash about once
    every 3 hours; after a reboot it restarts from the reservation, skipping unused numbers
    rather than ever repeating one.
    """

    def __init__(self, path: str | None = None, block: int = 1000, start: int = 1) -> None:
        self.path = path
        self.block = block
        self._next = start
        self._reserved = start
        if path is not None:
            stored = self._load()
            if stored is not None and stored > self._next:
                self._next = stored
            self._reserve()

    def _load(self) -> int | None:
        try:
            with open(self.path) as fh:  # type: ignore[arg-type]
                return int(fh.read().strip())
        except (OSError, ValueError):
            return None

    def _reserve(self) -> None:
        self._reserved = self._next + self.block
        if self.path is None:
            return
        tmp = self.path + ".tmp"
        try:
            with open(tmp, "w") as fh:
                fh.write(str(self._reserved))
            try:
                os.rename(tmp, self.path)
            except OSError:  # some board filesystems refuse to rename over a file
                os.remove(self.path)
                os.rename(tmp, self.path)
        except OSError as exc:
            platform.log("warning", "cannot persist seq reservation: %r" % (exc,))

    def peek(self) -> int:
        """The number the next call to :meth:`next` returns."""
        return self._next

    def next(self) -> int:
        if self.path is not None and self._next >= self._reserved:
            self._reserve()
        n = self._next
        self._next += 1
        return n


class Sampler:
    """Reads the meter every ``interval_s`` and stamps each reading.

    A reading is ``{"voltage", "current", "power", "energy", "frequency", "power_factor",
    "timestamp", "seq"}`` in V, A, W, Wh, Hz, [-]; the timestamp is ISO-8601 UTC.
    """

    def __init__(
        self,
        meter: Any,
        *,
        seq: SeqCounter | None = None,
        interval_s: int = 10,
        clock: Any = None,
        retries: int = 1,
    ) -> None:
        self.meter = meter
        self.seq = seq if seq is not None else SeqCounter()
        self.interval_s = validate_interval(interval_s)
        self.clock = clock if clock is not None else platform.epoch_s
        self.retries = retries
        self.samples = 0
        self.skipped = 0  # samples in the second of the previous reading
        self.errors = 0
        self.last_error: str | None = None
        self.last_reading: dict | None = None

    def set_interval(self, seconds: Any) -> int:
        """Change the sampling interval; raises ``ValueError`` outside 1..3600 s."""
        self.interval_s = validate_interval(seconds)
        return self.interval_s

    def sample(self) -> dict | None:
        """One reading, or None when the meter did not answer cleanly (counted in ``errors``)."""
        values = None
        for attempt in range(self.retries + 1):
            try:
                values = self.meter.read()
                break
            except PzemError as exc:
                self.last_error = "%s: %s" % (type(exc).__name__, exc)
                if attempt == self.retries:
                    self.errors += 1
                    platform.log("warning", "meter read failed: %s" % self.last_error)
                    return None
        assert values is not None
        timestamp = platform.iso_utc(self.clock())
        if self.last_reading is not None and self.last_reading["timestamp"] == timestamp:
            # Timestamps have whole seconds and the server keeps one reading per device and
            # time: a sample running late and the next one on time can fall in one second,
            # and the second would be refused as a repeat. Skip it; no number is used up.
            self.skipped += 1
            return None
        reading = {}
        for field in READING_FIELDS:
            reading[field] = values[field]
        reading["timestamp"] = timestamp
        reading["seq"] = self.seq.next()
        self.samples += 1
        self.last_reading = reading
        return reading


def validate_interval(seconds: Any) -> int:
    """Seconds as an int within 1..3600; raises ``ValueError`` otherwise."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValueError("interval must be a number of seconds, got %r" % (seconds,))
    if seconds != int(seconds):
        raise ValueError("interval must be whole seconds, got %r" % (seconds,))
    value = int(seconds)
    if not MIN_INTERVAL_S <= value <= MAX_INTERVAL_S:
        raise ValueError(
            "interval must be %d..%d s, got %r" % (MIN_INTERVAL_S, MAX_INTERVAL_S, seconds)
        )
    return value
