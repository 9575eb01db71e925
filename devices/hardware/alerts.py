"""Alerts: rules per device, evaluated against live values; raised, cleared and resolved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from devices import errors, selectors
from devices.hardware.common import invalid as _invalid
from devices.hardware.common import (
    now_utc,
    safe_publish,
)
from devices.live import channels, codecs, store
from devices.models import (
    Alert,
    AlertKind,
    AlertRule,
    AlertSeverity,
    Device,
)
from monitoring import metrics

# ---------------------------------------------------------------------------------------------


def alert_event(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "device_id": alert.device_id,
        "kind": alert.kind,
        "message": alert.message,
        "severity": alert.severity,
        "raised_at": alert.raised_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "resolved": alert.resolved_at is not None,
    }


def alert_raise(
    *,
    device_id: int,
    owner_id: int,
    kind: str,
    message: str,
    severity: str = AlertSeverity.WARNING,
    value: float | None = None,
    now: datetime | None = None,
) -> Alert | None:
    """Open an alert unless one of this kind is already open for the device."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                device_id=device_id,
                kind=kind,
                severity=severity,
                message=message[:240],
                value=value,
                raised_at=now or now_utc(),
            )
    except IntegrityError:
        return None
    metrics.alerts_counted(kind=kind, event="raised")
    safe_publish(channels.alerts_channel(owner_id), alert_event(alert))
    return alert


def alert_clear(*, device_id: int, owner_id: int, kind: str, now: datetime | None = None) -> int:
    """Resolve the open alert of this kind (its condition cleared)."""
    now = now or now_utc()
    open_alerts = list(Alert.objects.filter(device_id=device_id, kind=kind, resolved_at=None))
    for alert in open_alerts:
        alert.resolved_at = now
        alert.save(update_fields=["resolved_at"])
        safe_publish(channels.alerts_channel(owner_id), alert_event(alert))
    metrics.alerts_counted(kind=kind, event="cleared", count=len(open_alerts))
    return len(open_alerts)


def alert_resolve(*, user_id: int, alert_id: int | str) -> Alert:
    """The owner closes an alert by hand (raised again if its condition still holds later)."""
    try:
        alert = Alert.objects.get(pk=int(alert_id), device__home__owner_id=user_id)
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise errors.not_found("id", "Alert") from None
    if alert.resolved_at is None:
        alert.resolved_at = now_utc()
        alert.save(update_fields=["resolved_at"])
        metrics.alerts_counted(kind=alert.kind, event="resolved")
        safe_publish(channels.alerts_channel(user_id), alert_event(alert))
    return alert


ALERT_RULE_FIELDS = ("power_max_w", "voltage_min_v", "voltage_max_v", "battery_min_soc", "offline")


@transaction.atomic
def alert_rule_set(*, user_id: int, device_id: int | str, **fields: Any) -> AlertRule:
    """Create or change the thresholds of one of the user's devices."""
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise errors.not_found("device_id", "Device") from None
    rule, _ = AlertRule.objects.select_for_update().get_or_create(device_id=device.pk)
    for name, value in fields.items():
        if name not in ALERT_RULE_FIELDS:
            raise _invalid(name, "This field cannot be set.", "not_settable")
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    return rule


def _conditions(
    rule: AlertRule, current: Mapping[str, Any] | None, storage: Mapping[str, Any] | None
) -> dict[str, tuple[bool, float | None, str]]:
    """kind -> (holds, value, message) for every condition the values can decide."""
    decided: dict[str, tuple[bool, float | None, str]] = {}
    power = (current or {}).get("power_w")
    if rule.power_max_w is not None and power is not None:
        decided[AlertKind.POWER_HIGH] = (
            float(power) > rule.power_max_w,
            float(power),
            f"Power {float(power):.0f} W is above the limit of {rule.power_max_w:.0f} W.",
        )
    voltage = (current or {}).get("voltage_v")
    if voltage is not None and (rule.voltage_min_v is not None or rule.voltage_max_v is not None):
        low = rule.voltage_min_v if rule.voltage_min_v is not None else float("-inf")
        high = rule.voltage_max_v if rule.voltage_max_v is not None else float("inf")
        decided[AlertKind.VOLTAGE_OUT_OF_RANGE] = (
            not low <= float(voltage) <= high,
            float(voltage),
            f"Voltage {float(voltage):.1f} V is outside {low:g}..{high:g} V.",
        )
    if rule.battery_min_soc is not None and storage:
        level, capacity = storage.get("level_wh"), storage.get("capacity_wh")
        if level is not None and capacity:
            soc = float(level) / float(capacity)
            decided[AlertKind.BATTERY_LOW] = (
                soc < rule.battery_min_soc,
                soc,
                f"Battery at {soc:.0%}, below {rule.battery_min_soc:.0%}.",
            )
    return decided


_SEVERITY: dict[str, str] = {
    AlertKind.POWER_HIGH: AlertSeverity.WARNING,
    AlertKind.VOLTAGE_OUT_OF_RANGE: AlertSeverity.CRITICAL,
    AlertKind.BATTERY_LOW: AlertSeverity.WARNING,
}


def alerts_evaluate(
    values: Mapping[int, tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]],
    *,
    owners: Mapping[int, int] | None = None,
    now: datetime | None = None,
) -> None:
    """Raise or clear threshold alerts from live values (device id -> (current, storage)).
    A value that is missing decides nothing."""
    if not values:
        return
    rules = {
        rule.device_id: rule
        for rule in AlertRule.objects.filter(device_id__in=values.keys()).select_related(
            "device__home"
        )
    }
    if not rules:
        return
    now = now or now_utc()
    open_kinds: dict[int, set[str]] = defaultdict(set)
    for device_id, kind in Alert.objects.filter(
        device_id__in=rules.keys(), resolved_at=None
    ).values_list("device_id", "kind"):
        open_kinds[device_id].add(kind)
    for device_id, rule in rules.items():
        owner_id = (owners or {}).get(device_id) or rule.device.home.owner_id
        current, storage = values[device_id]
        for kind, (holds, value, message) in _conditions(rule, current, storage).items():
            if holds and kind not in open_kinds[device_id]:
                alert_raise(
                    device_id=device_id,
                    owner_id=owner_id,
                    kind=kind,
                    message=message,
                    severity=_SEVERITY[kind],
                    value=value,
                    now=now,
                )
            elif not holds and kind in open_kinds[device_id]:
                alert_clear(device_id=device_id, owner_id=owner_id, kind=kind, now=now)


def alerts_check(*, now: datetime | None = None) -> None:
    """Check every rule with a threshold against the devices' live keys (periodic)."""
    device_ids = list(
        AlertRule.objects.filter(
            Q(power_max_w__isnull=False)
            | Q(voltage_min_v__isnull=False)
            | Q(voltage_max_v__isnull=False)
            | Q(battery_min_soc__isnull=False)
        ).values_list("device_id", flat=True)
    )
    if not device_ids:
        return
    currents = store.device_currents(device_ids)
    storages = store.device_storages(device_ids)
    alerts_evaluate(
        {
            d: (None if codecs.is_stale(c) else c, s)
            for d, c, s in zip(device_ids, currents, storages, strict=True)
        },
        now=now,
    )


# ---------------------------------------------------------------------------------------------
# History: reads, hourly rollups, retention
