"""The ledger of a home: its grid exchange over a range, and what its stores hold now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from asgiref.sync import sync_to_async
from strawberry.types import Info

from devices.live.codecs import is_stale
from graphql_api.context import current_user_id
from graphql_api.errors import PublicError
from graphql_api.permissions import IsAuthenticated
from simulators import farm


@strawberry.type(
    name="StoredEnergy",
    description="A battery's or vehicle's stored energy with the cost and carbon it was stored "
    "with (weighted average; round-trip losses keep theirs in what remains).",
)
class StoredEnergy:
    device_id: strawberry.ID
    name: str
    kwh: float | None = strawberry.field(description="Stored energy now [kWh].")
    average_cost_per_kwh: float | None = strawberry.field(description="[currency/kWh]")
    average_carbon_g_per_kwh: float | None = strawberry.field(description="[gCO2e/kWh]")
    solar_share: float | None = strawberry.field(description="Share from own solar [0, 1].")
    generator_share: float | None = strawberry.field(description="Share from own generators.")
    grid_share: float | None = strawberry.field(
        description="Share from the grid; the rest was stored before the ledger knew the store."
    )
    timestamp: datetime | None = strawberry.field(description="The instant the values describe.")
    stale: bool


@strawberry.type(name="Ledger", description="Cost and carbon of one of the caller's homes.")
class Ledger:
    home_id: strawberry.ID
    from_: datetime = strawberry.field(name="from")
    to: datetime
    import_kwh: float
    export_kwh: float
    import_cost: float = strawberry.field(description="[currency]")
    export_revenue: float = strawberry.field(description="[currency]")
    carbon_g: float = strawberry.field(description="Carbon emitted by imports [gCO2e].")
    carbon_avoided_g: float = strawberry.field(
        description="Carbon displaced by own generation reaching the load or the grid [gCO2e]."
    )
    storage: list[StoredEnergy] = strawberry.field(
        description="Each simulated battery and vehicle of the home, now."
    )


def _stored(row: dict[str, Any]) -> StoredEnergy:
    def num(key: str) -> float | None:
        return None if row.get(key) is None else float(row[key])

    level = num("level_wh")
    return StoredEnergy(
        device_id=strawberry.ID(str(row["device_id"])),
        name=str(row["name"]),
        kwh=None if level is None else level / 1000.0,
        average_cost_per_kwh=num("cost_per_kwh"),
        average_carbon_g_per_kwh=num("carbon_g_per_kwh"),
        solar_share=num("solar_share"),
        generator_share=num("generator_share"),
        grid_share=num("grid_share"),
        timestamp=None if row.get("ts") is None else datetime.fromtimestamp(row["ts"], tz=UTC),
        stale=is_stale(row if "until" in row else None),
    )


def _ledger(user_id: int, home_id: strawberry.ID, start: datetime, end: datetime) -> Ledger | None:
    totals = farm.ledger_totals(user_id=user_id, home_id=home_id, start=start, end=end)
    stores = farm.storage_ledger(user_id=user_id, home_id=home_id)
    if totals is None or stores is None:
        return None
    return Ledger(
        home_id=home_id,
        from_=start,
        to=end,
        storage=[_stored(row) for row in stores],
        **totals,
    )


@strawberry.type
class LedgerQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Import cost, export revenue, carbon and carbon avoided of one of the "
        "caller's homes over [from, to), and its stores' current content; null if there is no "
        "such home.",
    )
    async def ledger(
        self,
        info: Info,
        home_id: strawberry.ID,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> Ledger | None:
        user_id = current_user_id(info)
        try:
            return await sync_to_async(_ledger)(user_id, home_id, from_, to)
        except farm.HistoryRangeError as exc:
            raise PublicError(str(exc), code="BAD_RANGE", field="from") from None
