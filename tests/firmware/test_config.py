"""Device configuration: defaults, validation, the sequence counter that survives reboots."""

import json
from pathlib import Path

import pytest

from firmware import config
from firmware.sampler import SeqCounter


def test_load_merges_defaults_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"server": "https://g.example", "api_key": "k", "device_id": "9"}))
    cfg = config.load(str(path))
    assert cfg["transport"] == "http" and cfg["sample_interval_s"] == 10
    assert cfg["pzem_address"] == 0xF8


def test_every_problem_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"server": "ftp://x", "transport": "mqtt", "sample_interval_s": 0,
                                "pzem_address": 300, "colour": "red"}))  # fmt: skip
    with pytest.raises(config.ConfigError) as info:
        config.load(str(path))
    message = str(info.value)
    for expected in ("server", "api_key", "mqtt_host", "device_id", "sample_interval_s",
                     "pzem_address", "unknown key 'colour'"):  # fmt: skip
        assert expected in message
    path.write_text("{not json")
    with pytest.raises(config.ConfigError):
        config.load(str(path))
    with pytest.raises(config.ConfigError):
        config.load(str(tmp_path / "missing.json"))


def test_seq_counter_never_repeats_across_reboots(tmp_path: Path) -> None:
    path = str(tmp_path / "seq.dat")
    first = SeqCounter(path, block=5)
    got = [first.next() for _ in range(7)]
    assert got == [1, 2, 3, 4, 5, 6, 7]
    after_reboot = SeqCounter(path, block=5)  # restarts at the reservation, skipping the rest
    assert after_reboot.next() > 7
    assert SeqCounter().next() == 1  # in memory only
