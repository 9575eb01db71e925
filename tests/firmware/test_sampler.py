"""The sampler stamps readings in whole seconds: never two in one second."""

from typing import Any

from firmware.sampler import Sampler, SeqCounter

EPOCH_2026 = 1_767_225_600  # 2026-01-01T00:00:00Z


class Meter:
    def read(self) -> dict[str, Any]:
        return {
            "voltage": 230.0, "current": 0.5, "power": 100.0, "energy": 10,
            "frequency": 50.0, "power_factor": 0.9, "alarm": False,
        }  # fmt: skip


def test_a_sample_in_the_second_of_the_previous_reading_is_skipped() -> None:
    now = [EPOCH_2026 + 0.95]
    sampler = Sampler(Meter(), seq=SeqCounter(start=7), interval_s=1, clock=lambda: now[0])

    first = sampler.sample()
    now[0] = EPOCH_2026 + 0.99  # a late sample followed by an on-time one: the same second
    second = sampler.sample()
    now[0] = EPOCH_2026 + 1.0
    third = sampler.sample()

    assert first is not None and third is not None
    assert second is None
    assert first["timestamp"] == "2026-01-01T00:00:00Z"
    assert third["timestamp"] == "2026-01-01T00:00:01Z"
    assert (first["seq"], third["seq"]) == (7, 8)  # no number used up by the skipped sample
    assert (sampler.samples, sampler.skipped) == (2, 1)
