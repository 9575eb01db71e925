"""Prices, carbon and weather of a home: ``gridSignals``, ``tariff`` and ``setTariff``."""
