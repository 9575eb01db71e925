"""Every Prometheus metric of gridtwin, the thin calls that count them, and ``/metrics``' text.

Each process counts what it does: the web process its requests, operations and WebSocket
deliveries; workers the ticks; the bridge its MQTT traffic. With ``PROMETHEUS_MULTIPROC_DIR``
set (to an empty directory, before any process starts, the same for every process on the host)
prometheus-client writes each process's values to files there and ``/metrics`` on the web
process adds them up; without it ``/metrics`` shows the web process alone. Processes that
share the directory must share one PID namespace: files are named by process id, and the web
process forgets the gauges of a process id that no longer runs.

Every label takes its values from a closed set (routes, phases, reasons, states) or is capped
(operation names), so no client can grow the number of series.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

TICK_PHASES = ("load", "physics", "write", "checkpoint", "finalize")
TICK_OUTCOMES = ("claimed", "duplicate", "skipped", "empty", "finalized")
TRANSPORTS = ("http", "mqtt")

_PHASE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_TICK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 120)

_path = os.environ.get(MULTIPROC_DIR_VARIABLE)
if _path and not os.path.isdir(_path):
    raise RuntimeError(
        f"{MULTIPROC_DIR_VARIABLE} names {_path!r}, which is not a directory: create it, empty, "
        "before the processes start (or unset it to count per process)."
    )

# --- The web process ---------------------------------------------------------------------------

HTTP_SECONDS = Histogram(
    "gridtwin_http_request_duration_seconds",
    "HTTP requests to the web process, by route (the URL pattern) and method.",
    ["route", "method"],
)
HTTP_RESPONSES = Counter(
    "gridtwin_http_responses",
    "HTTP responses of the web process, by route, method and status code.",
    ["route", "method", "status"],
)
GRAPHQL_SECONDS = Histogram(
    "gridtwin_graphql_operation_duration_seconds",
    "GraphQL queries and mutations, parse to result, by operation name ('anonymous' without "
    "one, 'other' past the cap) and type.",
    ["operation", "type"],
)
WEBSOCKET_CONNECTIONS = Gauge(
    "gridtwin_websocket_connections",
    "Open GraphQL WebSocket connections.",
    multiprocess_mode="livesum",
)
WEBSOCKET_DELIVERIES = Counter(
    "gridtwin_websocket_deliveries",
    "Subscription results sent over WebSocket (`next` messages).",
)

# --- The farm ---------------------------------------------------------------------------------

TICK_PHASE_SECONDS = Histogram(
    "gridtwin_tick_phase_duration_seconds",
    "Seconds per phase: load, physics, write, checkpoint per shard; finalize per tick.",
    ["phase"],
    buckets=_PHASE_BUCKETS,
)
TICK_SECONDS = Histogram(
    "gridtwin_tick_duration_seconds",
    "Seconds from a tick's claim to the end of its finalize.",
    buckets=_TICK_BUCKETS,
)
TICKS = Counter(
    "gridtwin_ticks",
    "Tick attempts by outcome: claimed, duplicate (claimed before), skipped (the previous "
    "tick still ran), empty (no homes), finalized.",
    ["outcome"],
)
TICK_LAST_FINALIZED = Gauge(
    "gridtwin_tick_last_finalized_timestamp_seconds",
    "The instant of the newest finalized tick (Unix seconds).",
    multiprocess_mode="max",
)
DEVICES_STEPPED = Counter("gridtwin_devices_stepped", "Devices stepped by the farm's shards.")
SHARDS_FAILED = Counter(
    "gridtwin_shards_failed", "Shards that gave no result for their tick (their homes read stale)."
)

# --- Devices ----------------------------------------------------------------------------------

READINGS_INGESTED = Counter(
    "gridtwin_readings_ingested", "Valid readings accepted, by transport.", ["transport"]
)
READINGS_STORED = Counter(
    "gridtwin_readings_stored",
    "Readings newly stored in PostgreSQL (repeats excluded), by transport.",
    ["transport"],
)
TELEMETRY_REFUSED = Counter(
    "gridtwin_telemetry_refused",
    "Telemetry requests (HTTP) or messages (MQTT) refused, by transport and reason.",
    ["transport", "reason"],
)
MQTT_MALFORMED = Counter(
    "gridtwin_mqtt_malformed", "MQTT messages of the wrong form, by what was wrong.", ["reason"]
)
MQTT_DROPPED = Counter(
    "gridtwin_mqtt_dropped",
    "MQTT messages or readings dropped without effect, by reason (malformed, unauthorized, "
    "not_physical, error; device_gone and unstorable for readings the database refused).",
    ["reason"],
)
MQTT_WRITER_WAITS = Counter(
    "gridtwin_mqtt_writer_waits",
    "Times the bridge's intake waited for a lagging PostgreSQL writer (backpressure).",
)
COMMANDS = Counter(
    "gridtwin_commands",
    "Command state changes: pending, sent (each attempt), acknowledged, failed, expired.",
    ["state"],
)
ALERTS = Counter(
    "gridtwin_alerts",
    "Alert events by kind: raised, cleared (the condition ended), resolved (by the owner).",
    ["kind", "event"],
)
SIGNAL_FETCHES = Counter(
    "gridtwin_signal_fetches",
    "Fetches of grid signals by provider, signal and outcome: ok, or why it failed (error, "
    "timeout, invalid, crash).",
    ["provider", "signal", "outcome"],
)
SIGNAL_POINTS_REFUSED = Counter(
    "gridtwin_signal_points_refused",
    "Points a signal provider returned that were not stored, by provider and reason "
    "(not_finite, out_of_range, bad_span).",
    ["provider", "reason"],
)

for _phase in TICK_PHASES:
    TICK_PHASE_SECONDS.labels(_phase)
for _outcome in TICK_OUTCOMES:
    TICKS.labels(_outcome)
for _transport in TRANSPORTS:
    READINGS_INGESTED.labels(_transport)
    READINGS_STORED.labels(_transport)

# --- The thin calls ---------------------------------------------------------------------------

#: Distinct operation names recorded per process; later ones count as "other".
MAX_OPERATION_NAMES = 200
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
_operation_names: set[str] = set()


def operation_label(name: object) -> str:
    """The label of a GraphQL operation: its name, ``anonymous``, or ``other`` (past the cap,
    or not a GraphQL name)."""
    if not name:
        return "anonymous"
    if not isinstance(name, str) or not _OPERATION_NAME.fullmatch(name):
        return "other"
    if name in _operation_names:
        return name
    if len(_operation_names) >= MAX_OPERATION_NAMES:
        return "other"
    _operation_names.add(name)
    return name


def http_observed(*, route: str, method: str, status: int, seconds: float) -> None:
    HTTP_SECONDS.labels(route, method).observe(seconds)
    HTTP_RESPONSES.labels(route, method, str(status)).inc()


def graphql_observed(*, operation: str | None, kind: str, seconds: float) -> None:
    GRAPHQL_SECONDS.labels(operation_label(operation), kind).observe(seconds)


def websocket_opened() -> None:
    WEBSOCKET_CONNECTIONS.inc()


def websocket_closed() -> None:
    WEBSOCKET_CONNECTIONS.dec()


def websocket_delivered() -> None:
    WEBSOCKET_DELIVERIES.inc()


def tick_counted(outcome: str) -> None:
    TICKS.labels(outcome).inc()


def shard_timed(*, seconds: Mapping[str, float], devices: int) -> None:
    """A shard's phases (``load``, ``physics``, ``write``, ``checkpoint``) and its devices."""
    for phase, value in seconds.items():
        TICK_PHASE_SECONDS.labels(phase).observe(value)
    DEVICES_STEPPED.inc(devices)


def tick_finalized(
    *, tick_s: int, finalize_s: float, tick_seconds: float | None, shards_failed: int
) -> None:
    TICKS.labels("finalized").inc()
    TICK_PHASE_SECONDS.labels("finalize").observe(finalize_s)
    if tick_seconds is not None:
        TICK_SECONDS.observe(tick_seconds)
    if shards_failed:
        SHARDS_FAILED.inc(shards_failed)
    TICK_LAST_FINALIZED.set(tick_s)


def readings_ingested(*, transport: str, count: int) -> None:
    READINGS_INGESTED.labels(transport).inc(count)


def readings_stored(*, transport: str, count: int) -> None:
    READINGS_STORED.labels(transport).inc(count)


def telemetry_refused(*, transport: str, reason: str) -> None:
    TELEMETRY_REFUSED.labels(transport, reason).inc()


def mqtt_malformed(reason: str) -> None:
    MQTT_MALFORMED.labels(reason).inc()
    MQTT_DROPPED.labels("malformed").inc()


def mqtt_dropped(reason: str, count: int = 1) -> None:
    MQTT_DROPPED.labels(reason).inc(count)


def mqtt_writer_waited() -> None:
    MQTT_WRITER_WAITS.inc()


def commands_counted(state: str, count: int = 1) -> None:
    if count:
        COMMANDS.labels(state).inc(count)


def alerts_counted(*, kind: str, event: str, count: int = 1) -> None:
    if count:
        ALERTS.labels(kind, event).inc(count)


def signal_fetched(*, provider: str, signal: str, outcome: str) -> None:
    SIGNAL_FETCHES.labels(provider, signal, outcome).inc()


def signal_points_refused(*, provider: str, reason: str, count: int = 1) -> None:
    if count:
        SIGNAL_POINTS_REFUSED.labels(provider, reason).inc(count)


# --- Exposition -------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    """The shared directory of multiprocess mode, or None when each process counts alone."""
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def dead_processes_forget(path: str) -> list[int]:
    """Drop the live gauges (open connections) of processes that no longer run, however they
    ended; returns their ids. Counters and histograms keep what those processes counted."""
    dead: set[int] = set()
    for filename in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid_part = os.path.basename(filename)[: -len(".db")].rsplit("_", 1)[-1]
        if pid_part.isdigit() and not _alive(int(pid_part)):
            dead.add(int(pid_part))
    for pid in dead:
        multiprocess.mark_process_dead(pid, path)
    return sorted(dead)


def process_exiting() -> None:
    """This process ends: its live gauges stop counting (multiprocess mode only)."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(os.getpid(), path)


def render() -> tuple[bytes, str]:
    """The Prometheus text exposition of every process's metrics, and its content type."""
    path = multiprocess_dir()
    if path is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    dead_processes_forget(path)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    return generate_latest(registry), CONTENT_TYPE_LATEST
