from django.apps import AppConfig
from django.core import checks


class GridConfig(AppConfig):
    name = "grid"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Grid signals and tariffs"

    def ready(self) -> None:
        from grid.checks import grid_providers_check

        checks.register(grid_providers_check)
