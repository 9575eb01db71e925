"""Virtual meters: load profiles, the virtual PZEM read by the real driver, one node end to end."""

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from firmware import config, emulate, pzem
from firmware.main import build_node
from firmware.sampler import SeqCounter
from tests.polling import wait_until

NOON = 1795435200.0  # 2026-11-23T12:00:00Z


def test_household_profile_is_deterministic_per_seed() -> None:
    times = [NOON + 97.0 * i for i in range(0, 900)]  # a day in ~1.6 min steps
    a = [emulate.HouseholdProfile(3).state(t)["power"] for t in times]
    b = [emulate.HouseholdProfile(3).state(t)["power"] for t in times]
    c = [emulate.HouseholdProfile(4).state(t)["power"] for t in times]
    assert a == b
    assert a != c


def test_household_profile_is_physically_plausible() -> None:
    profile = emulate.HouseholdProfile(11)
    day = [profile.state(NOON - 12 * 3600 + 60.0 * m) for m in range(1440)]
    powers = [s["power"] for s in day]
    assert min(powers) > 50  # base load never vanishes
    assert max(powers) > 1500  # some appliance ran
    night = sum(powers[120:240]) / 120  # 02:00-04:00
    evening = sum(powers[1140:1260]) / 120  # 19:00-21:00
    assert evening > night
    for s in day:
        assert 215 < s["voltage"] < 245
        assert 49.9 < s["frequency"] < 50.1
        assert 0.5 < s["power_factor"] <= 1.0
        assert s["current"] == pytest.approx(s["power"] / (s["voltage"] * s["power_factor"]))


def test_virtual_pzem_answers_the_real_driver() -> None:
    now = [NOON]
    virtual = emulate.VirtualPZEM(
        emulate.HouseholdProfile(1), address=0x01, energy_wh=1000.0, clock=lambda: now[0]
    )
    meter = pzem.PZEM(virtual, address=pzem.GENERAL_ADDRESS)
    first = meter.read()
    expected = emulate.HouseholdProfile(1).state(NOON)
    assert first["voltage"] == pytest.approx(expected["voltage"], abs=0.06)
    assert first["power"] == pytest.approx(expected["power"], abs=0.06)
    assert first["energy"] == 1000
    now[0] += 3600
    later = meter.read()
    assert later["energy"] > 1000  # integrated over the hour
    meter.reset_energy()
    assert meter.read()["energy"] == 0
    meter.set_address(0x09)
    assert virtual.address == 0x09 and meter.read()["voltage"] > 200
    assert pzem.PZEM(virtual, address=0x01, timeout_ms=20).address == 0x01
    with pytest.raises(pzem.NoResponseError):  # nobody answers at the old address
        pzem.PZEM(virtual, address=0x01, timeout_ms=20).read()


def test_virtual_pzem_rejects_bad_requests_like_the_real_one() -> None:
    virtual = emulate.VirtualPZEM(emulate.HouseholdProfile(1), address=0x01)
    assert virtual.respond(b"\x01\x04\x00\x00\x00\x0a\x00\x00") is None  # bad CRC: silence
    reply = virtual.respond(pzem.build_read_request(0x01, start=0x0008, count=5))
    assert reply == pzem.build_exception_response(0x01, 0x04, 0x02)
    reply = virtual.respond(pzem.with_crc(bytes([0x01, 0x07])))
    assert reply is not None and reply[1] == 0x87


def test_fault_injection_surfaces_as_typed_errors() -> None:
    virtual = emulate.VirtualPZEM(emulate.HouseholdProfile(2), fault_rate=1.0, clock=lambda: NOON)
    meter = pzem.PZEM(virtual, address=0x01, timeout_ms=10)
    seen = set()
    for _ in range(30):
        with pytest.raises(pzem.PzemError) as info:
            meter.read()
        seen.add(type(info.value))
    assert pzem.CrcError in seen and (seen & {pzem.ShortFrameError, pzem.NoResponseError})


class FakeServer:
    """Telemetry, command polling and acks, as the gridtwin server speaks them."""

    def __init__(self) -> None:
        self.telemetry: list[Any] = []
        self.acks: list[tuple[str, Any]] = []
        self.commands = [
            {"id": "c-1", "command": "set_interval", "args": {"seconds": 5}},
            {"id": "c-2", "command": "reboot", "args": {}},
        ]
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, obj: Any) -> None:
                payload = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                assert self.headers["X-API-Key"] == "key-1"
                self._reply(200, {"commands": outer.commands})

            def do_POST(self) -> None:
                assert self.headers["X-API-Key"] == "key-1"
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/api/v1/telemetry":
                    outer.telemetry.append(body)
                    self._reply(201, {})
                else:
                    cmd_id = self.path.split("/")[-2]
                    outer.acks.append((cmd_id, body))
                    outer.commands = [c for c in outer.commands if c["id"] != cmd_id]
                    self._reply(200, {})

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def test_virtual_device_end_to_end_over_http(server: FakeServer) -> None:
    cfg = config.merged({
        "server": server.url, "device_id": "17", "api_key": "key-1", "transport": "http",
        "pzem_address": 0x01, "seq_path": None, "sample_interval_s": 10,
        "upload_interval_s": 10, "command_poll_s": 15,
    })  # fmt: skip
    config.validate(cfg)
    now = [0.0]
    virtual = emulate.VirtualPZEM(emulate.HouseholdProfile(5), address=0x01, clock=lambda: NOON)
    node = build_node(
        cfg, uart=virtual, seq=SeqCounter(), clock=lambda: now[0], wall_clock=lambda: NOON + now[0]
    )
    node.start()
    for _ in range(4):  # t = 0, 10, 20, 30
        node.step()
        now[0] += 10
    readings = [r for body in server.telemetry for r in body.get("readings", [body])]
    assert [r["seq"] for r in readings] == [1, 2, 3, 4]
    assert all(r["timestamp"].endswith("Z") and 200 < r["voltage"] < 250 for r in readings)
    assert set(readings[0]) == {
        "voltage", "current", "power", "energy", "frequency", "power_factor", "timestamp", "seq",
    }  # fmt: skip
    assert [(cmd_id, body["status"]) for cmd_id, body in server.acks] == [
        ("c-1", "acknowledged"),
        ("c-2", "acknowledged"),
    ]
    assert node.sampler.interval_s == 5
    assert node.reboot_pending  # acked first, then the loop restarts


def test_keys_file_loading(tmp_path: Any) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([{"device_id": 3, "key": "k3"}]))
    assert emulate.load_keys(str(path)) == [{"device_id": "3", "key": "k3"}]
    path.write_text(json.dumps([{"device_id": 3}]))
    with pytest.raises(SystemExit):
        emulate.load_keys(str(path))


def test_cli_requires_a_key_source() -> None:
    with pytest.raises(SystemExit):
        emulate.parse_args(["--count", "2", "--server", "http://x"])
    args = emulate.parse_args(["--server", "http://x", "--keys-file", "k.json"])
    assert args.transport == "http" and args.interval == 10


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_the_run_with_the_report_even_as_a_background_job(
    server: FakeServer, tmp_path: Any, stop: int
) -> None:
    keys, report = tmp_path / "keys.json", tmp_path / "report.json"
    keys.write_text(json.dumps([{"device_id": "17", "key": "key-1"}]))
    process = subprocess.Popen(
        [sys.executable, "-m", "firmware.emulate", "--server", server.url, "--keys-file",
         str(keys), "--interval", "1", "--upload-interval", "1", "--report", str(report)],
        stdout=subprocess.PIPE,
        text=True,
        # as a shell starts a background job: SIGINT ignored, which Python would keep
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert "virtual meters" in process.stdout.readline()
        wait_until(lambda: len(server.telemetry) >= 2, timeout_s=20, what="two uploads")
        process.send_signal(stop)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    [meter] = json.loads(report.read_text())
    sent = [r["seq"] for body in server.telemetry for r in body.get("readings", [body])]
    assert meter["device_id"] == "17" and meter["buffered"] == []
    assert sent == list(range(meter["first_seq"], meter["next_seq"]))  # held nothing back
