"""One whole tick of the farm run in this process: claim, every shard, finalize (the farm's own
functions, real Redis and PostgreSQL; no worker)."""

from __future__ import annotations

from datetime import datetime

from simulators import farm


def tick_in_process(at: datetime) -> None:
    """Run the tick at ``at`` as a worker would, shard after shard."""
    plan = farm.tick_claim(tick_at=at)
    assert isinstance(plan, farm.TickPlan)
    handles = [
        farm.shard_simulate(tick_at=plan.tick_at, home_id_from=first, home_id_to=last)
        for first, last in plan.shards
    ]
    farm.tick_finalize(result_keys=handles, tick_at=plan.tick_at, shards=plan.shards)
