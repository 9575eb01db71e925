"""What the hardware modules share: the clock, settings-derived constants, error helpers."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from devices.live import store
from devices.models import CommandStatus

logger = logging.getLogger("devices.hardware")

KEY_SCHEME = "gt_"
PREFIX_LENGTH = 12
DEFAULT_INTERVAL_S = 10
SEEN_FLUSH_EVERY_MS = 1000
KEY_CACHE_S = 60
READINGS_PAGE_MAX = 5000
METER_COMMANDS = frozenset({"ping", "reset_energy", "set_interval", "reboot"})
SIMULATED_COMMANDS = frozenset(
    {"set_ev_mode", "set_setpoint", "set_battery_reserve", "set_generator_running"}
)
OPEN_COMMAND_STATUSES = (CommandStatus.PENDING, CommandStatus.SENT)


def invalid(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def now_utc() -> datetime:
    return timezone.now()


def pg_array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of numbers (``repr`` round-trips floats) or quoted text."""
    return "{" + ",".join(map(str, values)) + "}"


def safe_publish(channel: str, message: Mapping[str, Any]) -> None:
    try:
        store.publish(channel, message)
    except Exception:  # pub/sub is at-most-once anyway; never fail a write for it
        logger.warning("publish on %s failed", channel, exc_info=True)
