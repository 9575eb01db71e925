"""Step one device's home now (after creation or a command), so its new state shows at once.

Levels move by one second's worth only and storage values are not written: the regular tick
stays the integrator, so storage still steps exactly once per tick. The step first moves its
shard's parameter version, so a shard that loaded the older parameters cannot overwrite what
this step wrote (it reloads instead, see ``devices.live.ticks.shard_write``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from devices.live import channels, store, ticks
from devices.models import Device, DeviceSource, DeviceStatus
from simulators.farm import ledger, plans
from simulators.farm.clock import tick_align, valid_until
from simulators.farm.load import population_with_meters, shard_load, storage_state
from simulators.farm.run import shard_of
from simulators.farm.write import current_values, home_rows, home_values, stats_value
from simulators.physics.tick import population_tick


def device_simulate(*, device_id: int, at: datetime | None = None) -> bool:
    """Step the home of one simulated device now; False when there is no such online device."""
    found = (
        Device.objects.filter(
            pk=device_id, source=DeviceSource.SIMULATED, status=DeviceStatus.ONLINE
        )
        .values_list("home_id", flat=True)
        .first()
    )
    if found is None:
        return False
    at = at or datetime.now(UTC)
    conn = store.client()
    ticks.params_version_bump(shard_of(found), conn)
    data = shard_load(found, found + 1, use_cache=False)
    levels, books = storage_state(data, conn)
    signals = ledger.shard_signals(data, at)
    population = ledger.population_with_weather(
        population_with_meters(data, conn, now_s=at.timestamp()), signals
    )
    # A home that follows a plan is stepped by it here too: its values do not flip to the rule
    # between ticks.
    shard_plans = plans.shard_plans(data)
    dispatch = plans.dispatch_at(
        data, shard_plans, plans.interval_index(shard_plans, at.timestamp())
    )
    result = population_tick(
        population, levels, tick_at=at, dt_s=1.0, seed=int(settings.SIM_SEED), dispatch=dispatch
    )
    booked = ledger.shard_ledger(data, result, levels, books, signals, dt_s=1.0)
    rows = home_rows(data, result, signals, booked, dt_s=1.0)
    ts = int(at.timestamp())
    until = valid_until(int(tick_align(at).timestamp()))
    store.write_raw_many(
        [*data.current_keys, *data.home_keys],
        current_values(data, result, ts=ts, until=until) + home_values(rows, ts=ts, until=until),
        conn=conn,
    )
    messages: list[tuple[str, dict[str, Any]]] = [
        (channels.home_channel(found), stats_value(row, ts=ts, until=until))
        for row in rows.tolist()
    ]
    current = store.device_currents([device_id], conn=conn)[0]
    if current is not None:
        messages.append((channels.device_channel(device_id), current))
    store.publish_many(messages, conn=conn)
    return True
