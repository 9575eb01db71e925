from datetime import UTC, datetime, timedelta

import factory
from factory.django import DjangoModelFactory

from planner.models import Decision
from tests.devices.factories import BatteryFactory


class DecisionFactory(DjangoModelFactory[Decision]):
    """A battery charging at 2 kW for a quarter hour under a cost goal, applied by the farm."""

    class Meta:
        model = Decision

    device = factory.SubFactory(BatteryFactory)
    home = factory.SelfAttribute("device.home")
    interval_start = factory.Sequence(
        lambda n: datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=15 * n)
    )
    interval_end = factory.LazyAttribute(lambda d: d.interval_start + timedelta(minutes=15))
    action = "charge"
    power_w = 2000.0
    objective = "cost"
    plan_hash = "p" * 64
    inputs_hash = "i" * 64
    expected_cost = 0.15
    expected_carbon_g = 100.0
    source = "simulated"
