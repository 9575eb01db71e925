"""Build a large synthetic population fast: users, homes and devices through PostgreSQL COPY.

``python manage.py seed_farm --homes 20000 --devices-per-home 50`` adds (never replaces) that
many homes, spread over ``--users`` owners, with a mix of simulated devices. Multi-table
inheritance needs a ``devices_device`` row and a child row per device: both are copied, with
ids reserved from the sequence up front.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction

from accounts.models import User
from devices.models import (
    AirConditioner,
    Battery,
    Device,
    DeviceKind,
    ElectricVehicle,
    EvMode,
    Generator,
    Heater,
    Home,
    SolarPanel,
)
from simulators.physics.synthetic import SAMPLE_ZONES

ZONES = SAMPLE_ZONES
# Kinds in a home's device list, by share.
KIND_SHARES: tuple[tuple[DeviceKind, float], ...] = (
    (DeviceKind.SOLAR_PANEL, 0.30),
    (DeviceKind.BATTERY, 0.15),
    (DeviceKind.ELECTRIC_VEHICLE, 0.15),
    (DeviceKind.HEATER, 0.15),
    (DeviceKind.AIR_CONDITIONER, 0.15),
    (DeviceKind.GENERATOR, 0.10),
)
Columns = dict[str, Sequence[Any] | np.ndarray | Any]


def _reserve_ids(model: type[models.Model], count: int) -> np.ndarray:
    """``count`` fresh primary keys: the sequence is moved past them (table locked)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        first = int(cursor.fetchone()[0]) + 1
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, first + count - 1]
        )
    return np.arange(first, first + count, dtype=np.int64)


def _constant(value: Any) -> Callable[[int], Any]:
    return lambda _row: value


def _copy(model: type[models.Model], count: int, columns: Columns) -> None:
    """COPY ``count`` rows into the model's own table; unnamed fields get their defaults."""
    fields = [field for field in model._meta.local_concrete_fields]
    names: list[str] = []
    getters: list[Callable[[int], Any]] = []
    for field in fields:
        key = field.attname
        names.append(field.column)
        if key in columns:
            value = columns[key]
            if isinstance(value, np.ndarray):
                value = value.tolist()
            if isinstance(value, list | tuple):
                getters.append(value.__getitem__)
            else:
                getters.append(_constant(value))
        elif field.has_default() or not field.null:
            getters.append(_constant(field.get_default()))
        else:
            getters.append(_constant(None))
    sql = f"COPY {model._meta.db_table} ({', '.join(names)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for i in range(count):
            copy.write_row([get(i) for get in getters])


class Command(BaseCommand):
    help = "Add a large synthetic population of homes and simulated devices (PostgreSQL only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--homes", type=int, required=True)
        parser.add_argument("--devices-per-home", type=int, default=50)
        parser.add_argument("--users", type=int, default=0, help="Owners (default: homes / 5).")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("seed_farm needs PostgreSQL (it loads with COPY).")
        started = time.perf_counter()
        homes, per_home = int(options["homes"]), int(options["devices_per_home"])
        users = int(options["users"]) or max(1, homes // 5)
        with transaction.atomic():
            devices = self.seed(homes, per_home, users, np.random.default_rng(options["seed"]))
        self.stdout.write(
            f"seed_farm: {users} users, {homes} homes, {devices} devices in "
            f"{time.perf_counter() - started:.1f}s"
        )

    def seed(self, home_count: int, per_home: int, user_count: int, rng: Any) -> int:
        now = datetime.now(UTC)
        run = f"{int(time.time() * 1000):x}"
        user_ids = _reserve_ids(User, user_count)
        _copy(
            User,
            user_count,
            {
                "id": user_ids,
                "username": [f"farm-{run}-{i}" for i in range(user_count)],
                "password": "!",
                "date_joined": now,
            },
        )
        home_ids = _reserve_ids(Home, home_count)
        zone = rng.integers(0, len(ZONES), home_count)
        _copy(
            Home,
            home_count,
            {
                "id": home_ids,
                "owner_id": user_ids[np.arange(home_count) % user_count],
                "name": [f"Farm home {i}" for i in range(home_count)],
                "latitude": np.clip(
                    np.array([ZONES[z][1] for z in zone]) + rng.normal(0, 3, home_count), -89, 89
                ),
                "longitude": np.clip(
                    np.array([ZONES[z][2] for z in zone]) + rng.normal(0, 4, home_count),
                    -180,
                    180,
                ),
                "timezone": [ZONES[z][0] for z in zone],
                "base_load_w": rng.uniform(200, 800, home_count),
                "created_at": now,
                "updated_at": now,
            },
        )
        # Each home's devices: the kinds in proportion to their shares.
        kinds_of_home: list[DeviceKind] = []
        for kind, share in KIND_SHARES:
            kinds_of_home += [kind] * round(share * per_home)
        kinds_of_home = (kinds_of_home + [DeviceKind.SOLAR_PANEL] * per_home)[:per_home]
        count = home_count * per_home
        device_ids = _reserve_ids(Device, count)
        device_home = np.repeat(home_ids, per_home)
        device_kind = np.array(kinds_of_home * home_count)
        _copy(
            Device,
            count,
            {
                "id": device_ids,
                "home_id": device_home,
                "name": [f"{kind} {i % per_home}" for i, kind in enumerate(device_kind.tolist())],
                "kind": device_kind,
                "source": "simulated",
                "status": "online",
                "created_at": now,
                "updated_at": now,
                "last_seen_at": None,
                "api_key_prefix": None,
                "api_key_hash": "",
            },
        )
        for kind, model in (
            (DeviceKind.SOLAR_PANEL, SolarPanel),
            (DeviceKind.GENERATOR, Generator),
            (DeviceKind.BATTERY, Battery),
            (DeviceKind.ELECTRIC_VEHICLE, ElectricVehicle),
            (DeviceKind.HEATER, Heater),
            (DeviceKind.AIR_CONDITIONER, AirConditioner),
        ):
            ids = device_ids[device_kind == kind.value]
            if ids.size:
                _copy(model, ids.size, {"device_ptr_id": ids, **self.params(kind, ids.size, rng)})
        return count

    def params(self, kind: DeviceKind, n: int, rng: Any) -> Columns:
        if kind == DeviceKind.SOLAR_PANEL:
            return {
                "panel_area_m2": rng.uniform(1.6, 2.0, n) * rng.integers(4, 16, n),
                "efficiency": rng.uniform(0.18, 0.22, n),
                "rated_power_w": rng.uniform(2000, 6000, n),
                "tilt_deg": rng.uniform(10, 40, n),
                "azimuth_deg": np.clip(rng.normal(180, 30, n), 0, 360),
            }
        if kind == DeviceKind.GENERATOR:
            return {"rated_power_w": rng.uniform(2000, 8000, n), "running": rng.random(n) < 0.2}
        if kind == DeviceKind.BATTERY:
            return {
                "capacity_wh": rng.choice([5000.0, 10000.0, 13500.0], n),
                "max_charge_w": 5000.0,
                "max_discharge_w": 5000.0,
                "round_trip_efficiency": 0.9,
                "min_soc": 0.1,
                "level_wh": None,
                "level_at": None,
            }
        if kind == DeviceKind.ELECTRIC_VEHICLE:
            quarter_hours = rng.integers(0, 13, (2, n)).tolist()
            return {
                "battery_capacity_wh": rng.choice([40000.0, 60000.0, 75000.0], n),
                "max_charge_w": rng.choice([3700.0, 7400.0, 11000.0], n),
                "max_discharge_w": 5000.0,
                "mode": rng.choice(
                    [EvMode.CHARGING.value, EvMode.DISCHARGING.value, EvMode.IDLE.value],
                    n,
                    p=[0.7, 0.2, 0.1],
                ),
                "departure_time": [clock_time(6 + q // 4, 15 * (q % 4)) for q in quarter_hours[0]],
                "arrival_time": [clock_time(16 + q // 4, 15 * (q % 4)) for q in quarter_hours[1]],
                "driving_wh_per_hour": rng.uniform(300, 900, n),
                "level_wh": None,
                "level_at": None,
            }
        low, high = (17.0, 22.0) if kind == DeviceKind.HEATER else (22.0, 27.0)
        return {
            "rated_power_w": rng.uniform(1000, 3000, n),
            "setpoint_c": rng.uniform(low, high, n),
        }
