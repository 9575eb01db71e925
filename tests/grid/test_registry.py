"""GRID_PROVIDERS: what it may say, what it may not, and that it never shows on error pages."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from config.error_reports import SettingsCleansingFilter
from grid.checks import grid_providers_check
from grid.providers import registry, synthetic
from grid.providers.base import Signal


def test_by_default_every_signal_is_synthetic() -> None:
    with override_settings(GRID_PROVIDERS={}):
        for signal in Signal:
            chain = registry.providers(signal)
            assert [p.name for p in chain] == ["synthetic"]
            assert isinstance(chain[0], synthetic.SyntheticProvider)
            assert chain[0].signal is signal
            assert registry.stored_sources(signal) == ()


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"carbon": [{"kind": "synthetic"}]}, "unknown signals"),
        ({"carbon_intensity": [{"kind": "no-such-kind"}]}, "needs a kind among"),
        ({"carbon_intensity": {"kind": "synthetic"}}, "must be a list"),
        ({"temperature": ["synthetic"]}, "needs a kind among"),
        (["synthetic"], "JSON object"),
    ],
)
def test_an_unusable_setting_is_a_clear_error_at_start(config: object, words: str) -> None:
    with override_settings(GRID_PROVIDERS=config):
        with pytest.raises(ImproperlyConfigured, match=words):
            registry.providers(Signal.CARBON_INTENSITY)
        errors = grid_providers_check()
    assert [e.id for e in errors] == ["grid.E001"] and words in errors[0].msg


def test_a_kinds_own_refusal_names_the_signal() -> None:
    def picky(signal: Signal, spec: object) -> synthetic.SyntheticProvider:
        raise ValueError("needs a url")

    registry.KINDS["picky"] = picky
    try:
        with override_settings(GRID_PROVIDERS={"cloud_cover": [{"kind": "picky"}]}):
            assert registry.check() == ["GRID_PROVIDERS['cloud_cover']: needs a url"]
    finally:
        del registry.KINDS["picky"]


def test_the_setting_is_hidden_from_error_pages() -> None:
    secret = {"carbon_intensity": [{"kind": "synthetic", "note": "https://x/?key=s3cret"}]}
    with override_settings(GRID_PROVIDERS=secret):
        shown = SettingsCleansingFilter().get_safe_settings()["GRID_PROVIDERS"]
    assert "s3cret" not in str(shown)
