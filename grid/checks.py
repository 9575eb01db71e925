"""System checks: a ``GRID_PROVIDERS`` that cannot be used stops every process at start."""

from __future__ import annotations

from typing import Any

from django.core import checks

from grid.providers import registry


def grid_providers_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Error(problem, id="grid.E001") for problem in registry.check()]
