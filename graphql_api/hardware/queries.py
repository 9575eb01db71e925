"""Queries of real hardware: readings, hourly energy, commands, alerts and rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry.types import Info

from devices import hardware
from graphql_api.context import current_user_id
from graphql_api.hardware.types import (
    AlertRuleType,
    AlertType,
    DeviceCommandType,
    MeterEnergyHourType,
    ReadingType,
    public_error,
)
from graphql_api.permissions import IsAuthenticated

From = Annotated[datetime, strawberry.argument(name="from")]


@strawberry.type
class HardwareQuery:
    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="Raw readings of a device in [from, to), oldest first.",
    )
    def readings(
        self, info: Info, device_id: strawberry.ID, from_: From, to: datetime, first: int = 1000
    ) -> list[ReadingType]:
        try:
            return hardware.reading_list(  # type: ignore[return-value]
                user_id=current_user_id(info),
                device_id=device_id,
                since=from_,
                until=to,
                first=first,
            )
        except ValidationError as exc:
            raise public_error(exc) from None

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="Hourly energy of a meter for the hours in [from, to).",
    )
    def meter_energy_hourly(
        self, info: Info, device_id: strawberry.ID, from_: From, to: datetime
    ) -> list[MeterEnergyHourType]:
        try:
            return hardware.meter_energy_hourly(  # type: ignore[return-value]
                user_id=current_user_id(info), device_id=device_id, since=from_, until=to
            )
        except ValidationError as exc:
            raise public_error(exc) from None

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="Commands sent to a device, newest first (last 100).",
    )
    def commands(self, info: Info, device_id: strawberry.ID) -> list[DeviceCommandType]:
        try:
            commands: Any = hardware.command_list(
                user_id=current_user_id(info), device_id=device_id
            )[:100]
            return list(commands)
        except ValidationError as exc:
            raise public_error(exc) from None

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="The caller's alerts, newest first (last 200).",
    )
    def alerts(self, info: Info, resolved: bool | None = None) -> list[AlertType]:
        alerts: Any = hardware.alert_list(user_id=current_user_id(info), resolved=resolved)[:200]
        return list(alerts)

    @strawberry_django.field(
        permission_classes=[IsAuthenticated],
        description="A device's alert thresholds; null when none are set.",
    )
    def alert_rule(self, info: Info, device_id: strawberry.ID) -> AlertRuleType | None:
        try:
            return hardware.alert_rule_get(  # type: ignore[return-value]
                user_id=current_user_id(info), device_id=device_id
            )
        except ValidationError as exc:
            raise public_error(exc) from None
