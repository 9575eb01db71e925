"""The HTTP kinds are configured through GRID_PROVIDERS like any other kind."""

from __future__ import annotations

import pytest
from django.test import override_settings

from grid.providers import registry
from grid.providers.base import Signal
from grid.providers.remote import HTTP_KINDS

SECRET = "sk_live_registry_0123456789SECRET"


def test_every_http_kind_is_registered() -> None:
    assert set(HTTP_KINDS) <= set(registry.KINDS)


def test_http_providers_come_first_and_the_synthetic_one_last() -> None:
    config = {
        "carbon_intensity": [{"kind": "uk-carbon-intensity", "regions": {"GB": "national"}}],
        "cloud_cover": [
            {"kind": "open-meteo", "regions": {"DE": {"latitude": 51.0, "longitude": 10.0}}}
        ],
        "import_price": [{"kind": "awattar", "timeout_s": 5, "retries": 3}],
    }
    with override_settings(GRID_PROVIDERS=config):
        assert [p.name for p in registry.providers(Signal.CARBON_INTENSITY)] == [
            "uk-carbon-intensity",
            "synthetic",
        ]
        assert [p.name for p in registry.providers(Signal.CLOUD_COVER)] == [
            "open-meteo",
            "synthetic",
        ]
        assert registry.stored_sources(Signal.IMPORT_PRICE) == ("awattar",)
        assert [p.name for p in registry.providers(Signal.TEMPERATURE)] == ["synthetic"]


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "json-url", "url": "ftp://x.example/", "api_key": SECRET, "api_key_param": "k"},
        {"kind": "no-such-kind", "api_key": SECRET},
    ],
)
def test_a_bad_spec_is_reported_without_its_api_key(spec: dict[str, object]) -> None:
    with override_settings(GRID_PROVIDERS={"import_price": [spec]}):
        problems = registry.check()
    assert len(problems) == 1
    assert "import_price" in problems[0]
    assert SECRET not in problems[0]
