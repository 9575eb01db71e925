from datetime import time

import factory
from factory.django import DjangoModelFactory

from grid.models import Tariff, TariffKind, TariffPeriod
from simulators.physics.constants import ALL_DAYS_MASK
from tests.devices.factories import HomeFactory


class TariffFactory(DjangoModelFactory[Tariff]):
    class Meta:
        model = Tariff

    home = factory.SubFactory(HomeFactory)
    kind = TariffKind.FIXED
    currency = "EUR"
    standing_charge_per_day = 0.5
    import_price_per_kwh = 0.3
    export_price_per_kwh = 0.08


class TariffPeriodFactory(DjangoModelFactory[TariffPeriod]):
    class Meta:
        model = TariffPeriod

    tariff = factory.SubFactory(
        TariffFactory, kind=TariffKind.TIME_OF_USE, import_price_per_kwh=None
    )
    days = ALL_DAYS_MASK
    start = time(0, 0)
    end = time(0, 0)
    import_price_per_kwh = 0.25
