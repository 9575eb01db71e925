"""Run by tests/planner/test_sqlite.py in a process of its own, on a fresh SQLite file (the
database `make run` uses on a machine without PostgreSQL): the demo seeded, a week of a planned
home's history, the fleet planned, three ticks of the farm. Prints what the test checks, as
JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from devices.models import Home, HomeEnergyHistory  # noqa: E402
from planner import services  # noqa: E402
from planner.inputs import base_load_history_w, interval_start  # noqa: E402
from planner.models import Decision, HomePlan  # noqa: E402
from simulators import farm  # noqa: E402


def main() -> None:
    call_command("migrate", "--noinput", "-v", "0")
    call_command("seed_demo", "-v", "0")
    home = Home.objects.get(name="San Francisco house")
    now = farm.tick_align(datetime.now(UTC))
    start = interval_start(now)
    # A week ago, at the time of the plan's first interval: 600 W of base load for a minute.
    HomeEnergyHistory.objects.create(
        home=home, tick_at=start - timedelta(weeks=1) + timedelta(minutes=1),
        production_wh=0, consumption_wh=10, import_wh=10, export_wh=0, charge_wh=0,
        discharge_wh=0, base_load_wh=10.0,
    )  # fmt: skip
    history = base_load_history_w(home, start, 4)
    counts = services.plans_refresh(home_ids=[home.pk], now=now)
    for minute in range(3):
        at = now + timedelta(seconds=minute * farm.tick_seconds())
        plan = farm.tick_claim(tick_at=at)
        assert isinstance(plan, farm.TickPlan), plan
        handles = [
            farm.shard_simulate(tick_at=plan.tick_at, home_id_from=a, home_id_to=b)
            for a, b in plan.shards
        ]
        farm.tick_finalize(result_keys=handles, tick_at=plan.tick_at, shards=plan.shards)
    rows = HomeEnergyHistory.objects.filter(home=home, tick_at__gte=now)
    print(json.dumps({
        "history_w": history[0, 0, :2].tolist(),
        "counts": counts,
        "status": HomePlan.objects.get(home=home).status,
        "decisions": Decision.objects.filter(home=home).count(),
        "followed": rows.filter(solar_forecast_w__isnull=False).count(),
        "twinned": rows.filter(baseline_cost__isnull=False).count(),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
