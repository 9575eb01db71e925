"""GraphQL shapes of live values (from Redis): shared by queries and subscriptions.

A missing key reads as no data: every number null and ``stale: true``, never zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import strawberry

from devices.live.codecs import is_stale


def _ts(value: Mapping[str, Any] | None, field: str = "ts") -> datetime | None:
    if not value or value.get(field) is None:
        return None
    return datetime.fromtimestamp(float(value[field]), tz=UTC)


def _num(value: Mapping[str, Any] | None, key: str) -> float | None:
    if not value or value.get(key) is None:
        return None
    return float(value[key])


@strawberry.type(name="EnergyStats", description="Energy flows of a home, or of all the caller's.")
class EnergyStats:
    home_id: strawberry.ID | None = strawberry.field(description="Null for the caller's total.")
    production_w: float | None
    consumption_w: float | None
    storage_flow_w: float | None = strawberry.field(description="> 0 charging, < 0 discharging.")
    net_grid_flow_w: float | None = strawberry.field(
        description="consumption + storage flow - production: > 0 imports, < 0 exports."
    )
    self_sufficiency: float | None = strawberry.field(description="Share of consumption [0, 1].")
    storage_level_wh: float | None
    storage_capacity_wh: float | None
    storage_soc: float | None
    timestamp: datetime | None = strawberry.field(description="The instant the values describe.")
    valid_until: datetime | None = strawberry.field(
        description="After this instant the values are no longer current (stale)."
    )
    stale: bool = strawberry.field(description="No value, or past validUntil.")
    partial: bool = strawberry.field(
        description="The caller's total lacks homes whose simulation failed this tick: it is "
        "not a current total (stale too)."
    )
    import_price_per_kwh: float | None = strawberry.field(
        default=None,
        description="Import price now [currency/kWh]; the caller's total: the homes' average.",
    )
    export_price_per_kwh: float | None = strawberry.field(
        default=None,
        description="Export price now [currency/kWh]; the caller's total: the homes' average.",
    )
    carbon_intensity: float | None = strawberry.field(
        default=None,
        description="The grid's carbon intensity now [gCO2e/kWh]; the caller's total: the "
        "homes' average.",
    )
    cost_rate_per_hour: float | None = strawberry.field(
        default=None,
        description="What the home's consumption costs now, per hour [currency/h]: grid energy "
        "at the tariff, stored energy at the cost it was stored with, own generation free.",
    )
    carbon_rate_g_per_hour: float | None = strawberry.field(
        default=None,
        description="The carbon of the home's consumption now, per hour [gCO2e/h], counted "
        "like costRatePerHour.",
    )


def energy_stats_from_value(value: Mapping[str, Any] | None, *, home_id: int | None) -> EnergyStats:
    """Shape a ``home:{id}:stats`` / ``user:{id}:energy_stats`` value (None: no data)."""
    level = _num(value, "storage_level_wh")
    capacity = _num(value, "storage_capacity_wh")
    return EnergyStats(
        home_id=strawberry.ID(str(home_id)) if home_id is not None else None,
        production_w=_num(value, "production_w"),
        consumption_w=_num(value, "consumption_w"),
        storage_flow_w=_num(value, "storage_flow_w"),
        net_grid_flow_w=_num(value, "net_grid_flow_w"),
        self_sufficiency=_num(value, "self_sufficiency"),
        storage_level_wh=level,
        storage_capacity_wh=capacity,
        storage_soc=(level / capacity) if level is not None and capacity else None,
        timestamp=_ts(value),
        valid_until=_ts(value, "until"),
        stale=is_stale(value),
        partial=bool((value or {}).get("partial")),
        import_price_per_kwh=_num(value, "import_price_per_kwh"),
        export_price_per_kwh=_num(value, "export_price_per_kwh"),
        carbon_intensity=_num(value, "carbon_intensity"),
        cost_rate_per_hour=_num(value, "cost_rate_per_hour"),
        carbon_rate_g_per_hour=_num(value, "carbon_rate_g_per_hour"),
    )


@strawberry.type(name="DeviceState", description="A device's live state.")
class DeviceState:
    device_id: strawberry.ID
    power_w: float | None = strawberry.field(description="> 0 produced or consumed, per kind.")
    status: str | None
    mode: str | None = strawberry.field(description="Electric vehicles: the simulated mode.")
    level_wh: float | None
    capacity_wh: float | None
    soc: float | None
    flow_w: float | None = strawberry.field(description="Storage: > 0 charging, < 0 discharging.")
    voltage_v: float | None
    current_a: float | None
    energy_wh: float | None
    frequency_hz: float | None
    power_factor: float | None
    updated_at: datetime | None = strawberry.field(description="The instant the values describe.")
    valid_until: datetime | None = strawberry.field(
        description="After this instant the values are no longer current (stale)."
    )
    stale: bool


def device_state_from_values(
    device_id: int,
    current: Mapping[str, Any] | None,
    storage: Mapping[str, Any] | None = None,
) -> DeviceState:
    """Shape ``device:{id}:current`` (+ ``:storage``) values; None means no data."""
    level = _num(storage, "level_wh")
    capacity = _num(storage, "capacity_wh")
    return DeviceState(
        device_id=strawberry.ID(str(device_id)),
        power_w=_num(current, "power_w"),
        status=(current or {}).get("status"),
        mode=(current or {}).get("mode"),
        level_wh=level,
        capacity_wh=capacity,
        soc=(level / capacity) if level is not None and capacity else None,
        flow_w=_num(storage, "flow_w"),
        voltage_v=_num(current, "voltage_v"),
        current_a=_num(current, "current_a"),
        energy_wh=_num(current, "energy_wh"),
        frequency_hz=_num(current, "frequency_hz"),
        power_factor=_num(current, "power_factor"),
        updated_at=_ts(current),
        valid_until=_ts(current, "until"),
        stale=is_stale(current),
    )
