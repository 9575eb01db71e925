from typing import Any

import strawberry
import strawberry_django
from strawberry.types import Info

from devices import services
from devices.models import DeviceKind
from graphql_api.context import current_user_id
from graphql_api.devices import inputs
from graphql_api.devices.types import (
    AirConditionerType,
    BatteryType,
    DeviceInterface,
    ElectricVehicleType,
    EnergyMeterType,
    EvMode,
    GeneratorType,
    HeaterType,
    HomeType,
    SolarPanelType,
)
from graphql_api.permissions import IsAuthenticated


@strawberry.type(name="DevicePayload")
class DevicePayload:
    device: DeviceInterface


@strawberry.type(name="DeletedDevice")
class DeletedDevice:
    id: strawberry.ID
    name: str
    kind: str
    home_id: strawberry.ID


def _create(info: Info, kind: DeviceKind, data: object) -> Any:
    fields = inputs.provided(data)
    home_id = fields.pop("home_id")
    return services.device_create(
        user_id=current_user_id(info), kind=kind, home_id=home_id, **fields
    )


@strawberry.type
class DeviceMutation:
    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def create_home(self, info: Info, input: inputs.HomeInput) -> HomeType:
        return services.home_create(owner_id=current_user_id(info), **inputs.provided(input))  # type: ignore[return-value]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def update_home(self, info: Info, id: strawberry.ID, input: inputs.HomePatch) -> HomeType:
        return services.home_update(  # type: ignore[return-value]
            user_id=current_user_id(info), home_id=id, **inputs.provided(input)
        )

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def delete_home(self, info: Info, id: strawberry.ID) -> HomeType:
        return services.home_delete(user_id=current_user_id(info), home_id=id)  # type: ignore[return-value]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def create_solar_panel(self, info: Info, input: inputs.SolarPanelInput) -> SolarPanelType:
        return _create(info, DeviceKind.SOLAR_PANEL, input)  # type: ignore[no-any-return]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def create_generator(self, info: Info, input: inputs.GeneratorInput) -> GeneratorType:
        return _create(info, DeviceKind.GENERATOR, input)  # type: ignore[no-any-return]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def create_battery(self, info: Info, input: inputs.BatteryInput) -> BatteryType:
        return _create(info, DeviceKind.BATTERY, input)  # type: ignore[no-any-return]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def create_electric_vehicle(
        self, info: Info, input: inputs.ElectricVehicleInput
    ) -> ElectricVehicleType:
        return _create(info, DeviceKind.ELECTRIC_VEHICLE, input)  # type: ignore[no-any-return]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def create_heater(self, info: Info, input: inputs.HeaterInput) -> HeaterType:
        return _create(info, DeviceKind.HEATER, input)  # type: ignore[no-any-return]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def create_air_conditioner(
        self, info: Info, input: inputs.AirConditionerInput
    ) -> AirConditionerType:
        return _create(info, DeviceKind.AIR_CONDITIONER, input)  # type: ignore[no-any-return]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def create_energy_meter(self, info: Info, input: inputs.EnergyMeterInput) -> EnergyMeterType:
        return _create(info, DeviceKind.ENERGY_METER, input)  # type: ignore[no-any-return]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def update_device(
        self, info: Info, id: strawberry.ID, input: inputs.DevicePatch
    ) -> DevicePayload:
        device = services.device_update(
            user_id=current_user_id(info), device_id=id, **inputs.provided(input)
        )
        return DevicePayload(device=device)  # type: ignore[arg-type]

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def delete_device(self, info: Info, id: strawberry.ID) -> DeletedDevice:
        device = services.device_delete(user_id=current_user_id(info), device_id=id)
        return DeletedDevice(
            id=strawberry.ID(str(device.pk)),
            name=device.name,
            kind=device.kind,
            home_id=strawberry.ID(str(device.home_id)),
        )

    @strawberry_django.mutation(permission_classes=[IsAuthenticated], handle_django_errors=True)
    def set_ev_mode(
        self, info: Info, device_id: strawberry.ID, mode: EvMode
    ) -> ElectricVehicleType:
        return services.electric_vehicle_set_mode(  # type: ignore[return-value]
            user_id=current_user_id(info), device_id=device_id, mode=mode
        )
