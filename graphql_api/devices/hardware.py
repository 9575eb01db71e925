"""Real hardware over GraphQL: API keys, readings and hourly energy, commands, alerts.

Every field goes through an owner-scoped service: another user's device reads as a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry.scalars import JSON
from strawberry.types import Info

from devices import hardware, models
from graphql_api.context import current_user_id
from graphql_api.errors import PublicError

CommandStatus = models.CommandStatus
AlertKind = models.AlertKind
AlertSeverity = models.AlertSeverity
for _choices in (CommandStatus, AlertKind, AlertSeverity):
    strawberry.enum(_choices, name=_choices.__name__)


def _public(exc: ValidationError) -> PublicError:
    """A service's ValidationError as an error the client may read."""
    field, messages = next(iter(exc.message_dict.items()))
    code = "NOT_FOUND" if "not found" in messages[0] else "BAD_REQUEST"
    return PublicError(messages[0], code=code, field=field)


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


From = Annotated[datetime, strawberry.argument(name="from")]


@strawberry.type
class HardwareQuery:
    @strawberry_django.field(description="Raw readings of a device in [from, to), oldest first.")
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
            raise _public(exc) from None

    @strawberry_django.field(description="Hourly energy of a meter for the hours in [from, to).")
    def meter_energy_hourly(
        self, info: Info, device_id: strawberry.ID, from_: From, to: datetime
    ) -> list[MeterEnergyHourType]:
        try:
            return hardware.meter_energy_hourly(  # type: ignore[return-value]
                user_id=current_user_id(info), device_id=device_id, since=from_, until=to
            )
        except ValidationError as exc:
            raise _public(exc) from None

    @strawberry_django.field(description="Commands sent to a device, newest first (last 100).")
    def commands(self, info: Info, device_id: strawberry.ID) -> list[DeviceCommandType]:
        try:
            commands: Any = hardware.command_list(
                user_id=current_user_id(info), device_id=device_id
            )[:100]
            return list(commands)
        except ValidationError as exc:
            raise _public(exc) from None

    @strawberry_django.field(description="The caller's alerts, newest first (last 200).")
    def alerts(self, info: Info, resolved: bool | None = None) -> list[AlertType]:
        alerts: Any = hardware.alert_list(user_id=current_user_id(info), resolved=resolved)[:200]
        return list(alerts)

    @strawberry_django.field(description="A device's alert thresholds; null when none are set.")
    def alert_rule(self, info: Info, device_id: strawberry.ID) -> AlertRuleType | None:
        try:
            return hardware.alert_rule_get(  # type: ignore[return-value]
                user_id=current_user_id(info), device_id=device_id
            )
        except ValidationError as exc:
            raise _public(exc) from None


@strawberry.type
class HardwareMutation:
    @strawberry_django.mutation(
        description="Issue a new API key for a physical device; the old key stops working."
    )
    def rotate_device_api_key(self, info: Info, device_id: strawberry.ID) -> DeviceApiKey:
        try:
            rotated = hardware.device_api_key_rotate(
                user_id=current_user_id(info), device_id=device_id
            )
        except ValidationError as exc:
            raise _public(exc) from None
        return DeviceApiKey(
            device_id=strawberry.ID(str(rotated.device_id)), key=rotated.key, prefix=rotated.prefix
        )

    @strawberry_django.mutation(
        handle_django_errors=True,
        description="Send a command; simulated devices apply it at once, physical ones when "
        "online (it waits while the device is offline, until it expires).",
    )
    def send_device_command(
        self, info: Info, device_id: strawberry.ID, command: str, args: JSON | None = None
    ) -> DeviceCommandType:
        if args is not None and not isinstance(args, dict):
            raise ValidationError({"args": "Must be an object."}, code="invalid")
        cmd: Any = hardware.command_send(
            user_id=current_user_id(info), device_id=device_id, command=command, args=args
        )
        return cmd  # type: ignore[no-any-return]

    @strawberry_django.mutation(handle_django_errors=True)
    def resolve_alert(self, info: Info, id: strawberry.ID) -> AlertType:
        return hardware.alert_resolve(user_id=current_user_id(info), alert_id=id)  # type: ignore[return-value]

    @strawberry_django.mutation(handle_django_errors=True)
    def set_alert_rule(
        self, info: Info, device_id: strawberry.ID, input: AlertRuleInput
    ) -> AlertRuleType:
        fields = {
            name: value
            for name, value in vars(input).items()
            if value is not strawberry.UNSET and not name.startswith("_")
        }
        if fields.get("offline", True) is None:
            fields["offline"] = True
        return hardware.alert_rule_set(  # type: ignore[return-value]
            user_id=current_user_id(info), device_id=device_id, **fields
        )
