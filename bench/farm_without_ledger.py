"""The Celery app of ``make bench-farm``'s ledger-off passes: the farm with no signals, no
weather and no ledger step, so one run measures the tick with and without the ledger.

A worker started with ``-A bench.farm_without_ledger`` is the project's app; once Django is set
up and before its pool forks, it puts neutral stand-ins in place of the farm's three ledger
functions. The records and history rows keep their size (their ledger fields stay zero): what
the passes differ by is resolving signals and the ledger's arithmetic.
"""

from __future__ import annotations

from typing import Any

from celery import signals

from celery_app import app


@signals.worker_init.connect
def _ledger_off(**_: Any) -> None:
    import django

    django.setup()
    import numpy as np

    from grid.signals import TickSignals
    from simulators.farm import ledger
    from simulators.physics.ledger import HomeLedger, LedgerResult

    def no_signals(data: Any, tick_at: Any) -> Any:
        count = data.home_ids.shape[0]
        zeros, unknown = np.zeros(count), np.full(count, np.nan)
        return TickSignals(
            import_price=zeros,
            export_price=zeros,
            carbon_intensity=zeros,
            cloud_cover=unknown,
            temperature_c=unknown,
        )

    def no_weather(population: Any, signals: Any) -> Any:
        return population

    def no_ledger(data: Any, result: Any, levels: Any, books: Any, signals: Any, **_: Any) -> Any:
        zeros = np.zeros(data.home_ids.shape[0])
        homes = HomeLedger(*(zeros for _ in HomeLedger.__dataclass_fields__))
        stored = np.zeros(data.storage_ids.shape[0])
        return LedgerResult(homes=homes, books=books, stored_wh=stored)

    ledger.shard_signals = no_signals
    ledger.population_with_weather = no_weather
    ledger.shard_ledger = no_ledger


__all__ = ["app"]
