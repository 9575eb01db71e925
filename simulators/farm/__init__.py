"""The simulation farm: every simulated device stepped each tick, in shards of homes.

:mod:`.run` claims a tick, steps a shard and finalizes the tick; :mod:`.load` and :mod:`.write`
read and write a shard; :mod:`.ondemand` steps one home at once; :mod:`.clock` holds tick time
and the staleness rule; :mod:`.phases` lets observers follow a shard; :mod:`.history` reads the
energy history; :mod:`.status` says how far behind the farm is. Celery stays in
:mod:`simulators.tasks`. See docs/architecture.md.
"""

from simulators.farm.clock import tick_after, tick_align, tick_seconds, valid_until
from simulators.farm.history import (
    HistoryRangeError,
    history_buckets,
    ledger_totals,
    storage_ledger,
)
from simulators.farm.load import ShardData, shard_load, storage_levels
from simulators.farm.ondemand import device_simulate
from simulators.farm.run import (
    MAX_SHARD_ATTEMPTS,
    TickPlan,
    shard_of,
    shard_simulate,
    shards_plan,
    tick_abandon,
    tick_claim,
    tick_finalize,
    tick_release,
    tick_retry_in_s,
)
from simulators.farm.status import FarmLag, farm_lag
from simulators.farm.write import RESULT_COLUMNS, home_rows, stats_value

__all__ = [
    "MAX_SHARD_ATTEMPTS",
    "RESULT_COLUMNS",
    "FarmLag",
    "HistoryRangeError",
    "ShardData",
    "TickPlan",
    "device_simulate",
    "farm_lag",
    "history_buckets",
    "home_rows",
    "ledger_totals",
    "shard_load",
    "shard_of",
    "shard_simulate",
    "shards_plan",
    "stats_value",
    "storage_ledger",
    "storage_levels",
    "tick_abandon",
    "tick_after",
    "tick_align",
    "tick_claim",
    "tick_finalize",
    "tick_release",
    "tick_retry_in_s",
    "tick_seconds",
    "valid_until",
]
