from django.apps import AppConfig


class GridConfig(AppConfig):
    name = "grid"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Grid signals and tariffs"
