"""Live values over WebSocket: the current value at once, then one message per change.

Each subscription authorises through a selector (someone else's home or device reads exactly
like a missing one), then follows a channel of :mod:`devices.live.channels` through the process's
shared hub (:mod:`devices.live`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime
from typing import Any

import strawberry
from asgiref.sync import sync_to_async
from strawberry.types import Info

from devices import selectors
from devices.live import channels, pubsub, store
from devices.models import Alert, Device, DeviceKind, Home
from graphql_api.context import current_user_id
from graphql_api.errors import PublicError
from graphql_api.live.types import (
    DeviceState,
    EnergyStats,
    device_state_from_values,
    energy_stats_from_value,
)
from graphql_api.permissions import IsAuthenticated

_STORAGE_KINDS = frozenset({DeviceKind.BATTERY, DeviceKind.ELECTRIC_VEHICLE})
#: Unread alert events kept per subscriber before the oldest is dropped.
ALERT_MAILBOX_CAPACITY = 32


@strawberry.type(name="AlertEvent", description="An alert raised (or resolved) on a device.")
class AlertEvent:
    id: strawberry.ID | None
    device_id: strawberry.ID | None
    kind: str | None
    message: str | None
    severity: str | None
    raised_at: datetime | None
    resolved_at: datetime | None
    resolved: bool


def _instant(value: Any) -> datetime | None:
    """An aware UTC datetime from epoch seconds or an ISO 8601 string; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _id(value: Any) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


def alert_event_from_value(value: Mapping[str, Any]) -> AlertEvent:
    """Shape an alerts-channel message (missing fields read as null)."""
    resolved_at = _instant(value.get("resolved_at"))
    return AlertEvent(
        id=_id(value.get("id")),
        device_id=_id(value.get("device_id")),
        kind=value.get("kind"),
        message=value.get("message"),
        severity=value.get("severity"),
        raised_at=_instant(value.get("raised_at", value.get("ts"))),
        resolved_at=resolved_at,
        resolved=bool(value.get("resolved", resolved_at is not None)),
    )


def alert_event_from_model(alert: Alert) -> AlertEvent:
    return AlertEvent(
        id=_id(alert.pk),
        device_id=_id(alert.device_id),
        kind=alert.kind,
        message=alert.message,
        severity=alert.severity,
        raised_at=alert.raised_at,
        resolved_at=alert.resolved_at,
        resolved=alert.resolved_at is not None,
    )


@sync_to_async
def _home_id(user_id: int, home_id: strawberry.ID) -> int:
    try:
        return selectors.home_get(user_id=user_id, home_id=home_id).pk
    except Home.DoesNotExist:
        raise PublicError("Home not found.", code="NOT_FOUND", field="homeId") from None


@sync_to_async
def _device(user_id: int, device_id: strawberry.ID) -> tuple[int, int]:
    try:
        device = selectors.device_get(user_id=user_id, device_id=device_id)
    except Device.DoesNotExist:
        raise PublicError("Device not found.", code="NOT_FOUND", field="deviceId") from None
    return device.pk, device.home_id


@sync_to_async
def _open_alerts(user_id: int) -> list[AlertEvent]:
    alerts = selectors.alert_list_open(user_id=user_id)
    return [alert_event_from_model(alert) for alert in alerts]


#: Subscription fields whose every event matters: a subscriber queues this many (not only the
#: latest), for its own execution and for a shared one alike.
QUEUED_FIELDS = {"alerts": ALERT_MAILBOX_CAPACITY}


def _mode(info: Info) -> pubsub.FollowMode:
    """The part of the stream this execution gives (all of it unless shared, see websocket)."""
    mode = getattr(info.context, "follow", pubsub.FOLLOW_ALL)
    assert isinstance(mode, pubsub.FollowMode)
    return mode


def _energy_stats(
    user_id: int, home_id: int | None, mode: pubsub.FollowMode
) -> AsyncGenerator[EnergyStats, None]:
    channel = channels.user_channel(user_id) if home_id is None else channels.home_channel(home_id)

    last: list[tuple[Any, ...]] = []

    def fresh(value: dict[str, Any] | None) -> bool:
        """False for the value already sent (a snapshot read just before its tick's message)."""
        stamp = tuple((value or {}).get(f) for f in ("ts", "until", "partial"))
        if value is not None and last and last[0] == stamp:
            return False
        last[:] = [stamp]
        return True

    async def snapshot(hub: pubsub.LiveHub) -> list[EnergyStats]:
        last.clear()
        if home_id is None:
            value = await store.auser_stats(user_id, hub.redis)
        else:
            value = await store.ahome_stats(home_id, hub.redis)
        fresh(value)
        return [energy_stats_from_value(value, home_id=home_id)]

    async def convert(value: dict[str, Any]) -> EnergyStats | None:
        return energy_stats_from_value(value, home_id=home_id) if fresh(value) else None

    return pubsub.follow(channel, snapshot=snapshot, convert=convert, mode=mode)


def _device_state(
    device_id: int, home_id: int, mode: pubsub.FollowMode
) -> AsyncGenerator[DeviceState, None]:
    """Follows the device's channel (telemetry, on-demand steps) and its home's channel, which
    carries one message per tick for all its devices: on either, the device's values are read
    once and sent when they changed. A tick costs one message per home, not one per device."""
    last: list[tuple[Any, ...]] = []

    async def read(conn: Any) -> DeviceState | None:
        [(current, storage)] = await store.adevice_values([device_id], conn)
        stamp = tuple((value or {}).get(f) for value in (current, storage) for f in ("ts", "until"))
        if last and last[0] == stamp:
            return None
        last[:] = [stamp]
        return device_state_from_values(device_id, current, storage)

    async def snapshot(hub: pubsub.LiveHub) -> list[DeviceState]:
        last.clear()
        state = await read(hub.redis)
        return [state] if state is not None else []

    async def convert(value: dict[str, Any]) -> DeviceState | None:
        return await read(pubsub.hub().redis)

    return pubsub.follow(
        [channels.device_channel(device_id), channels.home_channel(home_id)],
        snapshot=snapshot,
        convert=convert,
        mode=mode,
    )


def _alerts(user_id: int, mode: pubsub.FollowMode) -> AsyncGenerator[AlertEvent, None]:
    async def snapshot(hub: pubsub.LiveHub) -> list[AlertEvent]:
        return await _open_alerts(user_id)

    async def convert(value: dict[str, Any]) -> AlertEvent:
        return alert_event_from_value(value)

    return pubsub.follow(
        channels.alerts_channel(user_id),
        snapshot=snapshot,
        convert=convert,
        capacity=ALERT_MAILBOX_CAPACITY,
        mode=mode,
    )


@strawberry.type
class DeviceSubscription:
    # Resolvers are plain coroutines returning the stream, so authorisation runs before the
    # stream starts and a refusal is the operation's `error` message, with nothing delivered.

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Energy flows of one of the caller's homes (or, without homeId, the "
        "caller's total): the current value at once, then one per change.",
    )
    async def energy_stats(
        self, info: Info, home_id: strawberry.ID | None = None
    ) -> AsyncGenerator[EnergyStats, None]:
        user_id = current_user_id(info)
        home_pk = None if home_id is None else await _home_id(user_id, home_id)
        return _energy_stats(user_id, home_pk, _mode(info))

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="A device's live state: the current value at once, then one per change.",
    )
    async def device_state(
        self, info: Info, device_id: strawberry.ID
    ) -> AsyncGenerator[DeviceState, None]:
        user_id = current_user_id(info)
        device_pk, home_pk = await _device(user_id, device_id)
        return _device_state(device_pk, home_pk, _mode(info))

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Alerts on the caller's devices: the open ones at once, then each event.",
    )
    async def alerts(self, info: Info) -> AsyncGenerator[AlertEvent, None]:
        return _alerts(current_user_id(info), _mode(info))
