from typing import ClassVar

from django.contrib import admin

from devices.models import (
    AirConditioner,
    Battery,
    Device,
    ElectricVehicle,
    EnergyMeter,
    Generator,
    Heater,
    Home,
    SolarPanel,
)


class DeviceInline(admin.TabularInline):
    model = Device
    fields = ("name", "kind", "source", "status", "last_seen_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False


@admin.register(Home)
class HomeAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "timezone", "latitude", "longitude", "base_load_w")
    list_filter = ("timezone",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
    inlines = [DeviceInline]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "kind", "home", "source", "status", "last_seen_at")
    list_filter = ("kind", "source", "status")
    search_fields = ("name", "home__name", "home__owner__username", "api_key_prefix")
    raw_id_fields = ("home",)
    readonly_fields = ("kind", "api_key_prefix", "last_seen_at")
    list_select_related = ("home",)


class KindAdmin(admin.ModelAdmin):
    list_filter: ClassVar[tuple[str, ...]] = ("source", "status")
    search_fields = ("name", "home__name", "home__owner__username")
    raw_id_fields = ("home",)
    readonly_fields = ("kind", "api_key_prefix", "last_seen_at")
    list_select_related = ("home",)


@admin.register(SolarPanel)
class SolarPanelAdmin(KindAdmin):
    list_display = ("id", "name", "home", "rated_power_w", "tilt_deg", "azimuth_deg", "status")


@admin.register(Generator)
class GeneratorAdmin(KindAdmin):
    list_display = ("id", "name", "home", "rated_power_w", "running", "status")
    list_filter: ClassVar[tuple[str, ...]] = ("running", "source", "status")


@admin.register(Battery)
class BatteryAdmin(KindAdmin):
    list_display = ("id", "name", "home", "capacity_wh", "max_charge_w", "level_wh", "status")


@admin.register(ElectricVehicle)
class ElectricVehicleAdmin(KindAdmin):
    list_display = ("id", "name", "home", "mode", "battery_capacity_wh", "target_soc", "status")
    list_filter: ClassVar[tuple[str, ...]] = ("mode", "source", "status")


@admin.register(Heater)
class HeaterAdmin(KindAdmin):
    list_display = ("id", "name", "home", "rated_power_w", "setpoint_c", "status")


@admin.register(AirConditioner)
class AirConditionerAdmin(KindAdmin):
    list_display = ("id", "name", "home", "rated_power_w", "setpoint_c", "status")


@admin.register(EnergyMeter)
class EnergyMeterAdmin(KindAdmin):
    list_display = ("id", "name", "home", "power_w", "voltage_v", "status", "last_seen_at")
