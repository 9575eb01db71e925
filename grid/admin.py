"""The admin's view of tariffs and stored signal points."""

from django.contrib import admin

from grid.models import SignalPoint, Tariff, TariffPeriod


class TariffPeriodInline(admin.TabularInline):
    model = TariffPeriod
    extra = 0
    fields = ("days", "start", "end", "import_price_per_kwh")


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    list_display = (
        "home",
        "kind",
        "currency",
        "import_price_per_kwh",
        "export_price_per_kwh",
        "standing_charge_per_day",
        "region",
        "updated_at",
    )
    list_filter = ("kind", "currency")
    search_fields = ("home__name", "home__owner__username", "region")
    raw_id_fields = ("home",)
    inlines = (TariffPeriodInline,)


@admin.register(SignalPoint)
class SignalPointAdmin(admin.ModelAdmin):
    list_display = ("signal", "region", "source", "start", "end", "value", "fetched_at")
    list_filter = ("signal", "source")
    search_fields = ("region",)
    date_hierarchy = "start"
    ordering = ("-start",)


@admin.register(TariffPeriod)
class TariffPeriodAdmin(admin.ModelAdmin):
    list_display = ("tariff", "days", "start", "end", "import_price_per_kwh")
    search_fields = ("tariff__home__name",)
    raw_id_fields = ("tariff",)
