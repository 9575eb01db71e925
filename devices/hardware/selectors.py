"""Reads of the hardware data, always for the acting user: readings, rollups, commands, alerts."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from devices import errors, selectors
from devices.hardware.common import READINGS_PAGE_MAX
from devices.models import (
    Alert,
    AlertRule,
    Device,
    DeviceCommand,
    Reading,
    ReadingHourly,
)


def command_list(*, user_id: int, device_id: int | str) -> QuerySet[DeviceCommand]:
    """Commands of one of the user's devices, newest first."""
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise errors.not_found("device_id", "Device") from None
    return DeviceCommand.objects.filter(device_id=device.pk).order_by("-created_at")


# ---------------------------------------------------------------------------------------------
# Alerts


def reading_list(
    *,
    user_id: int,
    device_id: int | str,
    since: datetime,
    until: datetime,
    first: int = 1000,
) -> list[Reading]:
    """The user's device's readings in ``[since, until)``, oldest first, at most ``first``."""
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise errors.not_found("device_id", "Device") from None
    if not 0 < first <= READINGS_PAGE_MAX:
        raise ValidationError({"first": f"Must be between 1 and {READINGS_PAGE_MAX}."})
    return list(
        Reading.objects.filter(
            device_id=device.pk, measured_at__gte=since, measured_at__lt=until
        ).order_by("measured_at")[:first]
    )


def meter_energy_hourly(
    *, user_id: int, device_id: int | str, since: datetime, until: datetime
) -> list[ReadingHourly]:
    """Hourly rollups of the user's device in ``[since, until)`` (up to the last rollup run)."""
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise errors.not_found("device_id", "Device") from None
    return list(
        ReadingHourly.objects.filter(device_id=device.pk, hour__gte=since, hour__lt=until).order_by(
            "hour"
        )[: 24 * 366]
    )


def alert_list(*, user_id: int, resolved: bool | None = None) -> QuerySet[Alert]:
    alerts = Alert.objects.filter(device__home__owner_id=user_id)
    if resolved is not None:
        alerts = alerts.filter(resolved_at__isnull=not resolved)
    return alerts.order_by("-raised_at", "-id")


def alert_rule_get(*, user_id: int, device_id: int | str) -> AlertRule | None:
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise errors.not_found("device_id", "Device") from None
    return AlertRule.objects.filter(device_id=device.pk).first()
