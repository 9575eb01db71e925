"""The admin of homes, devices and what real hardware produced.

Foreign keys to big tables (users, homes, devices) are raw ids, never a select of every row.
A device's API key hash is not a form field (``editable=False``) and its prefix is read-only:
keys are rotated through the API. Measurements (readings, hourly rollups, energy history) are
read-only; large changelists skip the full count.
"""

from typing import Any, ClassVar

from django.contrib import admin
from django.http import HttpRequest

from devices.models import (
    AirConditioner,
    Alert,
    AlertRule,
    Battery,
    Device,
    DeviceCommand,
    ElectricVehicle,
    EnergyMeter,
    Generator,
    Heater,
    Home,
    HomeEnergyHistory,
    Reading,
    ReadingHourly,
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
    show_full_result_count = False


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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Measurements: viewed and searched, never typed in or edited by hand."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Reading)
class ReadingAdmin(ReadOnlyAdmin):
    list_display = ("id", "device", "measured_at", "power_w", "voltage_v", "energy_wh", "seq")
    search_fields = ("device__name", "device__home__name")
    raw_id_fields = ("device",)
    list_select_related = ("device",)


@admin.register(ReadingHourly)
class ReadingHourlyAdmin(ReadOnlyAdmin):
    list_display = ("id", "device", "hour", "energy_wh", "avg_power_w", "max_power_w", "count")
    search_fields = ("device__name", "device__home__name")
    raw_id_fields = ("device",)
    list_select_related = ("device",)


@admin.register(HomeEnergyHistory)
class HomeEnergyHistoryAdmin(ReadOnlyAdmin):
    list_display = ("id", "home", "tick_at", "production_wh", "consumption_wh", "import_wh")
    search_fields = ("home__name", "home__owner__username")
    raw_id_fields = ("home",)
    list_select_related = ("home",)


@admin.register(DeviceCommand)
class DeviceCommandAdmin(admin.ModelAdmin):
    """Commands are sent through the API (which checks their arguments); here they are followed
    and may be expired by hand."""

    list_display = ("id", "device", "command", "status", "attempts", "created_at", "acked_at")
    list_filter = ("status", "command")
    search_fields = ("device__name", "command")
    raw_id_fields = ("device",)
    readonly_fields = (
        "id", "device", "command", "args", "attempts", "created_at", "sent_at", "acked_at",
        "result",
    )  # fmt: skip
    list_select_related = ("device",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("id", "device", "power_max_w", "voltage_min_v", "voltage_max_v", "offline")
    list_filter = ("offline",)
    search_fields = ("device__name", "device__home__name")
    raw_id_fields = ("device",)
    list_select_related = ("device",)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("id", "device", "kind", "severity", "raised_at", "resolved_at")
    list_filter = ("kind", "severity", "resolved_at")
    search_fields = ("device__name", "message")
    raw_id_fields = ("device",)
    readonly_fields = ("device", "kind", "severity", "message", "value", "raised_at")
    list_select_related = ("device",)
    show_full_result_count = False
