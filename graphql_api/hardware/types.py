"""GraphQL types of real hardware: keys, readings, hourly energy, commands, alerts."""

from __future__ import annotations

from datetime import datetime

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry.scalars import JSON

from devices import models
from devices.errors import ErrorCode, first_error
from graphql_api.errors import PublicError

CommandStatus = models.CommandStatus
AlertKind = models.AlertKind
AlertSeverity = models.AlertSeverity
for _choices in (CommandStatus, AlertKind, AlertSeverity):
    strawberry.enum(_choices, name=_choices.__name__)


@strawberry.type(name="DeviceApiKey", description="A new device key; shown once, never again.")
class DeviceApiKey:
    device_id: strawberry.ID
    key: str = strawberry.field(description='Send as X-API-Key (HTTP) or "key" (MQTT).')
    prefix: str


@strawberry_django.type(models.Reading, name="Reading")
class ReadingType:
    measured_at: datetime
    seq: int | None
    voltage_v: float
    current_a: float
    power_w: float
    energy_wh: float
    frequency_hz: float
    power_factor: float


@strawberry_django.type(models.ReadingHourly, name="MeterEnergyHour")
class MeterEnergyHourType:
    hour: datetime
    energy_wh: float
    avg_power_w: float
    min_power_w: float
    max_power_w: float
    count: int


@strawberry_django.type(models.DeviceCommand, name="DeviceCommand")
class DeviceCommandType:
    id: strawberry.ID
    device_id: strawberry.ID = strawberry_django.field(field_name="device_id")
    command: str
    args: JSON
    status: CommandStatus
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    acked_at: datetime | None
    expires_at: datetime
    next_attempt_at: datetime | None
    result: JSON | None


@strawberry_django.type(models.Alert, name="Alert")
class AlertType:
    id: strawberry.ID
    device_id: strawberry.ID = strawberry_django.field(field_name="device_id")
    kind: AlertKind
    severity: AlertSeverity
    message: str
    value: float | None
    raised_at: datetime
    resolved_at: datetime | None

    @strawberry.field
    def resolved(self) -> bool:
        return self.resolved_at is not None


@strawberry_django.type(models.AlertRule, name="AlertRule")
class AlertRuleType:
    device_id: strawberry.ID = strawberry_django.field(field_name="device_id")
    power_max_w: float | None
    voltage_min_v: float | None
    voltage_max_v: float | None
    battery_min_soc: float | None
    offline: bool


@strawberry.input(name="AlertRuleInput", description="Thresholds; null turns a check off.")
class AlertRuleInput:
    power_max_w: float | None = strawberry.UNSET
    voltage_min_v: float | None = strawberry.UNSET
    voltage_max_v: float | None = strawberry.UNSET
    battery_min_soc: float | None = strawberry.UNSET
    offline: bool | None = strawberry.UNSET


def public_error(exc: ValidationError) -> PublicError:
    """A service's ValidationError as an error the client may read, mapped by its code."""
    field, message, code = first_error(exc)
    return PublicError(
        message, code="NOT_FOUND" if code == ErrorCode.NOT_FOUND else "BAD_REQUEST", field=field
    )
