from django.apps import AppConfig


class PlannerConfig(AppConfig):
    name = "planner"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Planner: goals and plans"
