"""The admin's view of goals, plans and decisions (plans and decisions are read-only: they
are computed, and decisions are the record of what was done)."""

from django.contrib import admin

from planner.models import Decision, HomePlan, OptimizationGoal


@admin.register(OptimizationGoal)
class OptimizationGoalAdmin(admin.ModelAdmin):
    list_display = ("home", "objective", "grid_import_max_w", "grid_export_max_w", "updated_at")
    list_filter = ("objective",)
    search_fields = ("home__name", "home__owner__username")
    raw_id_fields = ("home",)


@admin.register(HomePlan)
class HomePlanAdmin(admin.ModelAdmin):
    list_display = ("home", "objective", "status", "starts_at", "created_at")
    list_filter = ("status", "objective")
    search_fields = ("home__name", "home__owner__username")
    readonly_fields = (
        "home", "objective", "status", "inputs_hash", "starts_at", "created_at", "payload",
    )  # fmt: skip

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ("device", "interval_start", "action", "power_w", "source", "objective")
    list_filter = ("source", "action", "objective")
    search_fields = ("home__name", "home__owner__username", "device__name")
    raw_id_fields = ("home", "device", "command")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
