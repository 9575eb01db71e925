"""The real firmware (``firmware/``, a virtual PZEM behind the real driver, sampler, uploader and
command poller) against a live gridtwin server over HTTP (uvicorn serving ``config.asgi``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from devices import hardware
from devices.live import keys
from devices.models import DeviceCommand, EnergyMeter, Reading
from firmware import config, emulate
from firmware.main import build_node
from firmware.sampler import SeqCounter
from tests import live_values
from tests.devices.factories import EnergyMeterFactory
from tests.graphql_api.live_server import live_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server_url() -> Iterator[str]:
    with live_server() as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture(autouse=True)
def _short_lived_connections() -> Iterator[None]:
    """The server's pool threads close their connections after each request, so the test
    database can be dropped at the end."""
    config_ = connections.settings["default"]
    previous = config_["CONN_MAX_AGE"]
    config_["CONN_MAX_AGE"] = 0
    yield
    config_["CONN_MAX_AGE"] = previous


def test_firmware_uploads_and_answers_commands(server_url: str, user: Any) -> None:
    meter = EnergyMeterFactory(home__owner=user, status="online")
    key = hardware.device_api_key_rotate(user_id=user.pk, device_id=meter.pk).key
    ping = hardware.command_send(user_id=user.pk, device_id=meter.pk, command="ping")
    interval = hardware.command_send(
        user_id=user.pk, device_id=meter.pk, command="set_interval", args={"seconds": 2}
    )
    cfg = config.merged({
        "server": server_url, "device_id": str(meter.pk), "api_key": key,
        "transport": "http", "pzem_address": 0x01, "seq_path": None, "sample_interval_s": 1,
        "upload_interval_s": 1, "command_poll_s": 1,
    })  # fmt: skip
    config.validate(cfg)
    virtual = emulate.VirtualPZEM(emulate.HouseholdProfile(7), address=0x01)
    node = build_node(cfg, uart=virtual, seq=SeqCounter(start=1000))
    node.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        node.step()
        done = DeviceCommand.objects.filter(status="acknowledged").count() == 2
        if done and Reading.objects.filter(device=meter).count() >= 3:
            break
        time.sleep(0.1)
    node.stop()
    assert node.uploader.rejected == 0 and not node.uploader.unauthorized
    rows = list(Reading.objects.filter(device=meter).order_by("seq"))
    assert len(rows) >= 3 and rows[0].seq is not None and rows[0].seq >= 1000
    assert 200 < rows[0].voltage_v < 250
    assert DeviceCommand.objects.get(pk=ping.pk).status == "acknowledged"
    assert DeviceCommand.objects.get(pk=interval.pk).status == "acknowledged"
    assert EnergyMeter.objects.get(pk=meter.pk).reporting_interval_s == 2
    current = live_values.read_many([keys.device_current_key(meter.pk)])[0]
    assert current is not None and current["seq"] == max(r.seq for r in rows if r.seq)


def test_the_emulator_provisions_meters_once_in_the_users_first_home(
    server_url: str, user: Any
) -> None:
    from tests.devices.factories import HomeFactory

    first = HomeFactory(owner=user, name="First")
    HomeFactory(owner=user, name="Second")
    password = "correct horse battery staple"
    user.set_password(password)
    user.save()

    def provision() -> list[dict[str, str]]:
        return emulate.provision_via_graphql(
            server_url, username=user.username, password=password, home_id=None, count=3
        )

    keys = provision()
    again = provision()
    meters = EnergyMeter.objects.filter(home__owner=user)
    assert meters.count() == 3 and {m.home_id for m in meters} == {first.pk}
    assert [k["device_id"] for k in keys] == [k["device_id"] for k in again]
    for old, new in zip(keys, again, strict=True):
        assert hardware.device_authenticate(key=old["key"]) is None  # rotated away
        device = hardware.device_authenticate(key=new["key"])
        assert device is not None and str(device.device_id) == new["device_id"]
