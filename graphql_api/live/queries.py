"""Live energy stats, device live state and energy history: the farm's read side."""

from __future__ import annotations

import time
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from asgiref.sync import sync_to_async
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from devices import selectors
from devices.live import store
from devices.models import Home
from graphql_api.context import current_user_id
from graphql_api.errors import PublicError
from graphql_api.live import shapes
from graphql_api.live.types import DeviceState, EnergyStats
from graphql_api.permissions import IsAuthenticated
from simulators import farm


@strawberry.enum(name="HistoryBucket")
class HistoryBucket(Enum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


@strawberry.type(name="EnergyHistoryBucket", description="Energy of a home over one bucket.")
class EnergyHistoryBucket:
    start: datetime = strawberry.field(description="Start of the bucket (UTC).")
    production_kwh: float
    consumption_kwh: float
    import_kwh: float
    export_kwh: float
    charge_kwh: float
    discharge_kwh: float
    cost: float = strawberry.field(description="Import cost [currency].")
    revenue: float = strawberry.field(description="Export revenue [currency].")
    carbon_g: float = strawberry.field(description="Carbon emitted by imports [gCO2e].")
    carbon_avoided_g: float = strawberry.field(
        description="Carbon displaced by own generation reaching the load or the grid [gCO2e]."
    )


async def _load_device_states(device_ids: list[int]) -> list[DeviceState]:
    values = await store.araw_device_values(device_ids, store.shared_async_client())
    return [
        shapes.device_state(device_id, current, storage)
        for device_id, (current, storage) in zip(device_ids, values, strict=True)
    ]


def device_live_loader(info: Info) -> DataLoader[int, DeviceState]:
    """``DeviceStateByDeviceIdLoader``: every live value of a request in one MGET.

    Callers pass ids of devices already loaded through a selector (so the caller's own).
    """
    loaders: dict[str, Any] = info.context.loaders
    if "device_live" not in loaders:
        loaders["device_live"] = DataLoader(load_fn=_load_device_states)
    loader: DataLoader[int, DeviceState] = loaders["device_live"]
    return loader


# Positive ownership answers, remembered per process for a minute: a home never changes owner
# and its id is never reused, so a hit can only be stale for a deleted home (whose live keys are
# gone or expiring). "Not yours" is never cached, so a new home is visible at once.
_OWNED_TTL_S = 60.0
_OWNED_MAX = 100_000
_owned: dict[tuple[int, str], tuple[int, float]] = {}


def _owned_home_id(user_id: int, home_id: strawberry.ID) -> int | None:
    try:
        return selectors.home_get(user_id=user_id, home_id=home_id).pk
    except Home.DoesNotExist:
        return None


async def _owned_home_id_cached(user_id: int, home_id: strawberry.ID) -> int | None:
    key = (user_id, str(home_id))
    hit = _owned.get(key)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        return hit[0]
    owned = await sync_to_async(_owned_home_id)(user_id, home_id)
    if owned is not None:
        if len(_owned) >= _OWNED_MAX:
            _owned.clear()
        _owned[key] = (owned, now + _OWNED_TTL_S)
    return owned


@strawberry.type
class EnergyStatsQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Live energy flows of one of the caller's homes, or (no homeId) of all of "
        "them; null if there is no such home. No data yet reads as nulls with stale: true.",
    )
    async def energy_stats(
        self, info: Info, home_id: strawberry.ID | None = None
    ) -> EnergyStats | None:
        user_id = current_user_id(info)
        conn = store.shared_async_client()
        if home_id is None:
            return shapes.energy_stats_of_user(user_id, await store.araw_user_stats(user_id, conn))
        owned = await _owned_home_id_cached(user_id, home_id)
        if owned is None:
            return None
        return shapes.energy_stats_of_home(owned, await store.araw_home_stats(owned, conn))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Energy of one of the caller's homes per bucket in [from, to), oldest "
        "first, only buckets with data [kWh]; null if there is no such home.",
    )
    async def energy_history(
        self,
        info: Info,
        home_id: strawberry.ID,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        bucket: HistoryBucket = HistoryBucket.HOUR,
    ) -> list[EnergyHistoryBucket] | None:
        user_id = current_user_id(info)
        try:
            rows = await sync_to_async(farm.history_buckets)(
                user_id=user_id, home_id=home_id, start=from_, end=to, bucket=bucket.value
            )
        except farm.HistoryRangeError as exc:
            raise PublicError(str(exc), code="BAD_RANGE", field="from") from None
        if rows is None:
            return None
        return [EnergyHistoryBucket(**row) for row in rows]
