"""Mutations of real hardware: API keys, commands, alert resolution and rules."""

from __future__ import annotations

from typing import Any

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry.scalars import JSON
from strawberry.types import Info

from devices import hardware
from graphql_api.context import current_user_id
from graphql_api.hardware.types import (
    AlertRuleInput,
    AlertRuleType,
    AlertType,
    DeviceApiKey,
    DeviceCommandType,
    public_error,
)
from graphql_api.permissions import IsAuthenticated


@strawberry.type
class HardwareMutation:
    @strawberry_django.mutation(
        permission_classes=[IsAuthenticated],
        description="Issue a new API key for a physical device; the old key stops working.",
    )
    def rotate_device_api_key(self, info: Info, device_id: strawberry.ID) -> DeviceApiKey:
        try:
            rotated = hardware.device_api_key_rotate(
                user_id=current_user_id(info), device_id=device_id
            )
        except ValidationError as exc:
            raise public_error(exc) from None
        return DeviceApiKey(
            device_id=strawberry.ID(str(rotated.device_id)), key=rotated.key, prefix=rotated.prefix
        )

    @strawberry_django.mutation(
        permission_classes=[IsAuthenticated],
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

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def resolve_alert(self, info: Info, id: strawberry.ID) -> AlertType:
        return hardware.alert_resolve(user_id=current_user_id(info), alert_id=id)  # type: ignore[return-value]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
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
