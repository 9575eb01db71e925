"""Command execution, acknowledgement and de-duplication of re-sent ids."""

import json
from typing import Any

from firmware import commands
from firmware.platform import HttpResponse
from firmware.pzem import ModbusExceptionError
from firmware.sampler import Sampler


class Meter:
    def __init__(self) -> None:
        self.resets = 0
        self.fail = False

    def read(self) -> dict[str, Any]:
        return {
            "voltage": 230.0, "current": 0.5, "power": 100.0, "energy": 10,
            "frequency": 50.0, "power_factor": 0.9, "alarm": False,
        }  # fmt: skip

    def reset_energy(self) -> None:
        if self.fail:
            raise ModbusExceptionError(0x42, 0x04)
        self.resets += 1


def make_handler() -> tuple[commands.CommandHandler, Meter, Sampler]:
    meter = Meter()
    sampler = Sampler(meter, interval_s=10)
    return commands.CommandHandler(meter=meter, sampler=sampler, clock=lambda: 0.0), meter, sampler


def test_repeated_id_is_acknowledged_again_but_executed_once() -> None:
    handler, meter, _ = make_handler()
    msg = {"id": "a1b2", "command": "reset_energy", "args": {}}
    first = handler.handle(msg)
    second = handler.handle(dict(msg))
    assert first == second == {
        "id": "a1b2", "status": "acknowledged", "result": {"energy_reset": True},
    }  # fmt: skip
    assert meter.resets == 1
    assert (handler.executed, handler.duplicates) == (1, 1)


def test_unknown_command_fails_with_a_reason() -> None:
    handler, _, _ = make_handler()
    ack = handler.handle({"id": "x", "command": "self_destruct", "args": {}})
    assert ack["id"] == "x" and ack["status"] == "failed"
    assert "unknown command" in ack["result"]["reason"]
    assert "self_destruct" in ack["result"]["reason"]


def test_set_interval_within_and_outside_limits() -> None:
    handler, _, sampler = make_handler()
    ok = handler.handle({"id": "1", "command": "set_interval", "args": {"seconds": 60}})
    assert ok == {"id": "1", "status": "acknowledged", "result": {"interval_s": 60}}
    assert sampler.interval_s == 60
    for i, bad in enumerate([0, 3601, "10", None, 1.5, True]):
        ack = handler.handle({"id": f"b{i}", "command": "set_interval", "args": {"seconds": bad}})
        assert ack["status"] == "failed", bad
    assert sampler.interval_s == 60
    assert (
        handler.handle({"id": "z", "command": "set_interval", "args": {"seconds": 1}})["status"]
        == "acknowledged"
    )
    assert (
        handler.handle({"id": "y", "command": "set_interval", "args": {"seconds": 3600}})["status"]
        == "acknowledged"
    )


def test_ping_reboot_and_failures() -> None:
    handler, meter, _ = make_handler()
    assert handler.handle({"id": "p", "command": "ping"})["result"]["pong"] is True
    assert not handler.reboot_requested
    assert handler.handle({"id": "r", "command": "reboot", "args": {}})["status"] == "acknowledged"
    assert handler.reboot_requested
    meter.fail = True
    failed = handler.handle({"id": "e", "command": "reset_energy", "args": {}})
    assert failed["status"] == "failed" and "modbus exception" in failed["result"]["reason"]
    assert handler.handle({"id": "q", "command": "ping", "args": [1]})["status"] == "failed"
    assert handler.handle({"command": "ping"})["status"] == "failed"  # no id


def test_memory_of_ids_is_bounded() -> None:
    handler, meter, _ = make_handler()
    handler.memory = 3
    for i in range(5):
        handler.handle({"id": str(i), "command": "reset_energy"})
    handler.handle({"id": "4", "command": "reset_energy"})  # still remembered
    assert meter.resets == 5
    handler.handle({"id": "0", "command": "reset_energy"})  # long forgotten: runs again
    assert meter.resets == 6


def test_http_command_poller_fetches_executes_and_acks() -> None:
    handler, meter, _ = make_handler()
    calls: list[tuple[str, str, Any]] = []
    ack_ok = [False, True, True]

    def request(method: str, url: str, headers: Any = None, body: Any = None, **_: Any) -> Any:
        calls.append((method, url, body))
        assert headers == {"X-API-Key": "key"}
        if method == "GET":
            gets = sum(1 for c in calls if c[0] == "GET")
            cmds = [
                {"id": "u1", "command": "reset_energy", "args": {}},
                {"id": "u2", "command": "warp", "args": {}},
            ]
            return HttpResponse(
                200, {}, json.dumps({"commands": cmds if gets == 1 else []}).encode()
            )
        if ack_ok.pop(0):
            return HttpResponse(200, {}, b"{}")
        raise OSError("network down")

    poller = commands.HttpCommandPoller(
        server="http://srv/",
        api_key="key",
        handler=handler,
        request=request,
        clock=lambda: 0.0,
        poll_interval_s=15,
    )
    assert poller.poll(0) == 2
    assert calls[0] == ("GET", "http://srv/api/v1/commands", None)
    assert calls[1] == (
        "POST", "http://srv/api/v1/commands/u1/ack",
        {"status": "acknowledged", "result": {"energy_reset": True}},
    )  # fmt: skip
    assert calls[2][1] == "http://srv/api/v1/commands/u2/ack"
    assert calls[2][2]["status"] == "failed"
    assert len(poller.pending) == 1  # u1's ack hit a network error: retried next poll
    assert poller.poll(5) == 0  # not due
    poller.poll(15)
    assert calls[3] == ("POST", "http://srv/api/v1/commands/u1/ack", calls[1][2])
    assert calls[4][0] == "GET"
    assert poller.pending == []
    assert meter.resets == 1
