"""Virtual energy meters on CPython, speaking to a gridtwin server like real boards do.

    python -m firmware.emulate --count 10 --server http://localhost:8000 \\
        --username alice --password secret --home-id 1 --save-keys keys.json
    python -m firmware.emulate --count 10 --server http://localhost:8000 --keys-file keys.json \\
        --transport mqtt --mqtt-host localhost --mqtt-port 1883

Each virtual meter is a household load profile behind a virtual PZEM-004T that answers real
Modbus-RTU frames, read by the real driver (:mod:`firmware.pzem`) and uploaded by the real
:class:`firmware.main.MeterNode`. A bounded pool of worker threads steps the meters; a line of
counters is printed every second; Ctrl-C stops cleanly (MQTT meters announce ``offline``).
"""

import argparse
import json
import logging
import math
import random
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from firmware import config, platform, pzem
from firmware.main import MeterNode, build_node
from firmware.sampler import SeqCounter

log = logging.getLogger("firmware.emulate")

DAY_S = 86400.0

# name, power [W], duration [min], times a day (min, max), preferred local hours (centre, spread),
# power factor [-]
APPLIANCES: tuple[
    tuple[
        str,
        tuple[float, float],
        tuple[float, float],
        tuple[int, int],
        tuple[tuple[float, float], ...],
        float,
    ],
    ...,
] = (
    ("kettle", (1800, 3000), (2, 5), (1, 5), ((7.5, 1.0), (13.0, 2.0), (17.5, 2.0)), 1.0),
    ("microwave", (700, 1200), (2, 8), (0, 3), ((12.5, 1.5), (19.0, 1.5)), 0.9),
    ("toaster", (800, 1200), (2, 4), (0, 2), ((7.5, 1.0),), 1.0),
    ("hob", (1000, 2000), (15, 45), (0, 2), ((12.5, 1.0), (18.5, 1.0)), 1.0),
    ("oven", (1500, 2500), (30, 90), (0, 1), ((18.5, 1.0),), 1.0),
    ("washing_machine", (400, 700), (60, 120), (0, 1), ((10.0, 3.0), (19.0, 2.0)), 0.85),
    ("dishwasher", (1000, 1400), (60, 120), (0, 1), ((21.0, 1.5),), 0.98),
    ("tv", (80, 200), (60, 240), (0, 2), ((20.5, 1.5),), 0.95),
    ("hair_dryer", (1200, 2000), (3, 10), (0, 1), ((7.2, 0.7),), 1.0),
    ("vacuum", (600, 1400), (10, 30), (0, 1), ((11.0, 3.0),), 0.9),
)


def _unit_noise(seed: int, n: int) -> float:
    """Deterministic pseudo-random value in [-1, 1) for (seed, n) (splitmix64)."""
    z = (seed * 0x9E3779B97F4A7C15 + n * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & (2**64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    z ^= z >> 31
    return (z / 2.0**63) - 1.0


class HouseholdProfile:
    """A household's electrical state as a pure function of time, deterministic per seed.

    Base load (standby, router, lighting), a fridge compressor cycling, smooth morning and
    evening peaks, and appliances switched on at random but reproducible times each day.
    """

    def __init__(self, seed: int, *, tz_offset_h: float = 0.0) -> None:
        rng = random.Random(f"household:{seed}")
        self.seed = seed
        self.tz_offset_h = tz_offset_h
        self.base_w = rng.uniform(80.0, 220.0)
        self.morning_w = rng.uniform(200.0, 700.0)
        self.morning_h = rng.uniform(6.5, 8.0)
        self.evening_w = rng.uniform(400.0, 1200.0)
        self.evening_h = rng.uniform(18.0, 20.5)
        self.fridge_w = rng.uniform(70.0, 150.0)
        self.fridge_period_s = rng.uniform(2400.0, 4200.0)
        self.fridge_duty = rng.uniform(0.3, 0.5)
        self.fridge_phase_s = rng.uniform(0.0, self.fridge_period_s)
        self.voltage_phase = rng.uniform(0.0, 2 * math.pi)
        self._days: dict[int, list[tuple[float, float, float, float]]] = {}

    def _events(self, day: int) -> list[tuple[float, float, float, float]]:
        """(start_s, end_s, power_w, power_factor) of appliance runs starting on local ``day``."""
        events = self._days.get(day)
        if events is not None:
            return events
        rng = random.Random(f"appliances:{self.seed}:{day}")
        events = []
        for _name, watts, minutes, times, hours, pf in APPLIANCES:
            for _ in range(rng.randint(*times)):
                centre, spread = rng.choice(hours)
                hour = rng.gauss(centre, spread) % 24.0
                start = day * DAY_S + hour * 3600.0
                events.append(
                    (start, start + rng.uniform(*minutes) * 60.0, rng.uniform(*watts), pf)
                )
        if len(self._days) > 4:
            self._days.pop(min(self._days))
        self._days[day] = events
        return events

    def loads(self, at_s: float) -> list[tuple[float, float]]:
        """(power_w, power_factor) of everything drawing power at Unix time ``at_s``."""
        local = at_s + self.tz_offset_h * 3600.0
        hour = (local % DAY_S) / 3600.0
        day = int(local // DAY_S)
        loads = [(self.base_w * (1.0 + 0.05 * _unit_noise(self.seed, int(at_s) // 60)), 0.75)]
        loads.append((self.morning_w * math.exp(-0.5 * ((hour - self.morning_h) / 0.8) ** 2), 0.95))
        # the evening peak wraps past midnight
        dh = min(abs(hour - self.evening_h), 24.0 - abs(hour - self.evening_h))
        loads.append((self.evening_w * math.exp(-0.5 * (dh / 1.6) ** 2), 0.95))
        if (
            at_s + self.fridge_phase_s
        ) % self.fridge_period_s < self.fridge_duty * self.fridge_period_s:
            loads.append((self.fridge_w, 0.8))
        for d in (day - 1, day):
            for start, end, watts, pf in self._events(d):
                if start <= local < end:
                    loads.append((watts, pf))
        return loads

    def state(self, at_s: float) -> dict[str, float]:
        """voltage [V], current [A], power [W], frequency [Hz], power_factor [-] at ``at_s``."""
        loads = self.loads(at_s)
        n = int(at_s)
        power_w = sum(p for p, _ in loads) * (1.0 + 0.01 * _unit_noise(self.seed + 1, n))
        apparent_va = sum(p / pf for p, pf in loads)
        power_factor = min(1.0, power_w / apparent_va) if apparent_va > 0 else 1.0
        hour = (at_s % DAY_S) / 3600.0
        voltage_v = (
            231.0
            + 3.0 * math.sin(2 * math.pi * hour / 24.0 + self.voltage_phase)
            - 0.0015 * power_w  # drop along the service cable under load
            + 0.5 * _unit_noise(self.seed + 2, n)
        )
        frequency_hz = (
            50.0
            + 0.03 * math.sin(2 * math.pi * at_s / 900.0 + self.voltage_phase)
            + 0.01 * _unit_noise(self.seed + 3, n)
        )
        current_a = power_w / (voltage_v * power_factor) if power_w > 0 else 0.0
        return {
            "voltage": voltage_v,
            "current": current_a,
            "power": power_w,
            "frequency": frequency_hz,
            "power_factor": power_factor,
        }


class VirtualPZEM:
    """A PZEM-004T v3.0 on the far end of a UART: answers Modbus-RTU frames byte for byte.

    Implements ``write`` / ``read`` / ``any`` like ``machine.UART``. Like the real meter it
    ignores frames with a bad CRC or another address. ``fault_rate`` corrupts that share of
    replies (bad CRC, truncated, or silent) to exercise the driver's error paths.
    """

    def __init__(
        self,
        profile: HouseholdProfile,
        *,
        address: int = 0x01,
        energy_wh: float = 0.0,
        clock: Any = time.time,
        fault_rate: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.profile = profile
        self.address = address
        self.energy_wh = energy_wh
        self.clock = clock
        self.fault_rate = fault_rate
        self.rng = rng or random.Random(profile.seed)
        self.alarm_threshold_w = 23000
        self._last_at: float | None = None
        self._rx = b""
        self.frames = 0

    def registers(self) -> list[int]:
        now = self.clock()
        state = self.profile.state(now)
        if self._last_at is not None:
            dt = min(max(0.0, now - self._last_at), 3600.0)
            self.energy_wh = (self.energy_wh + state["power"] * dt / 3600.0) % 10_000_000
        self._last_at = now
        return pzem.encode_registers(
            voltage=state["voltage"],
            current=state["current"],
            power=state["power"],
            energy=self.energy_wh,
            frequency=state["frequency"],
            power_factor=state["power_factor"],
            alarm=state["power"] > self.alarm_threshold_w,
        )

    def respond(self, frame: bytes) -> bytes | None:
        """The reply the meter puts on the wire for ``frame`` (None: it stays silent)."""
        if len(frame) < 4 or not pzem.check_crc(frame):
            return None
        addr, function = frame[0], frame[1]
        if addr not in (self.address, pzem.GENERAL_ADDRESS):
            return None
        if function == pzem.FN_READ_INPUT and len(frame) == 8:
            start = (frame[2] << 8) | frame[3]
            count = (frame[4] << 8) | frame[5]
            if count < 1 or start + count > pzem.INPUT_REGISTER_COUNT:
                return pzem.build_exception_response(self.address, function, 0x02)
            regs = self.registers()[start : start + count]
            return pzem.build_read_response(self.address, regs)
        if function == pzem.FN_RESET_ENERGY and len(frame) == 4:
            self.energy_wh = 0.0
            return bytes(frame)
        if function == pzem.FN_WRITE_SINGLE and len(frame) == 8:
            register = (frame[2] << 8) | frame[3]
            value = (frame[4] << 8) | frame[5]
            if register == pzem.REG_ALARM_THRESHOLD:
                self.alarm_threshold_w = value
            elif (
                register == pzem.REG_SLAVE_ADDRESS and pzem.MIN_ADDRESS <= value <= pzem.MAX_ADDRESS
            ):
                reply = bytes(frame)
                self.address = value
                return reply
            else:
                return pzem.build_exception_response(self.address, function, 0x03)
            return bytes(frame)
        return pzem.build_exception_response(self.address, function, 0x01)

    def _corrupt(self, reply: bytes) -> bytes | None:
        kind = self.rng.randrange(3)
        if kind == 0:
            i = self.rng.randrange(len(reply))
            return reply[:i] + bytes([reply[i] ^ 0x5A]) + reply[i + 1 :]
        if kind == 1:
            return reply[: self.rng.randrange(1, len(reply))]
        return None

    # machine.UART interface
    def write(self, data: bytes) -> int:
        self.frames += 1
        reply = self.respond(bytes(data))
        if reply is not None and self.fault_rate and self.rng.random() < self.fault_rate:
            reply = self._corrupt(reply)
        if reply:
            self._rx += reply
        return len(data)

    def read(self, n: int = -1) -> bytes | None:
        if not self._rx:
            return None
        if n < 0:
            n = len(self._rx)
        out, self._rx = self._rx[:n], self._rx[n:]
        return out

    def any(self) -> int:
        return len(self._rx)


# ---------------------------------------------------------------------------------------------
# Device keys
# ---------------------------------------------------------------------------------------------


def load_keys(path: str) -> list[dict[str, str]]:
    """``[{"device_id": ..., "key": ...}, ...]`` from a JSON file."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, list) or not all(
        isinstance(d, dict) and d.get("device_id") not in (None, "") and d.get("key") for d in data
    ):
        raise SystemExit(f'{path}: expected a JSON list of {{"device_id": ..., "key": ...}}')
    return [{"device_id": str(d["device_id"]), "key": str(d["key"])} for d in data]


def provision_via_graphql(
    server: str,
    *,
    username: str,
    password: str,
    home_id: str | None,
    count: int,
    name_prefix: str = "Virtual meter",
    timeout_s: float = 15.0,
) -> list[dict[str, str]]:
    """Log in, make sure ``count`` energy meters exist in ``home_id`` (default: the user's
    first home; meters of the same name are reused) and rotate a key for each.

    The only code that knows the GraphQL schema; adjust here when the schema moves.
    """
    url = server.rstrip("/") + "/graphql/"

    def call(query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        body = json.dumps({"query": query, "variables": variables}).encode()
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                payload = json.load(resp)
        except urllib.error.HTTPError as err:
            detail = err.read()[:300].decode(errors="replace")
            raise SystemExit(f"GraphQL {url} answered {err.code}: {detail}") from err
        if payload.get("errors"):
            messages = "; ".join(e.get("message", "?") for e in payload["errors"])
            raise SystemExit(f"GraphQL error: {messages}")
        return dict(payload["data"])

    login = call(
        "mutation Login($username: String!, $password: String!) {"
        " loginUser(username: $username, password: $password) { accessToken } }",
        {"username": username, "password": password},
    )
    token = login["loginUser"]["accessToken"]
    if home_id is None:
        homes = call("{ homes { id name } }", {}, token)["homes"]
        if not homes:
            raise SystemExit("the user has no home: create one first (createHome)")
        home_id = str(homes[0]["id"])
        log.info("using home %s (%s)", home_id, homes[0]["name"])
    existing = call(
        "query Meters($homeId: ID!) { devices(homeId: $homeId, kind: ENERGY_METER, first: 100)"
        " { edges { node { id name } } } }",
        {"homeId": home_id},
        token,
    )["devices"]["edges"]
    by_name = {edge["node"]["name"]: str(edge["node"]["id"]) for edge in existing}
    devices = []
    for i in range(count):
        name = f"{name_prefix} {i + 1}"
        device_id = by_name.get(name) or _create_meter(call, token, home_id, name)
        rotated = call(
            "mutation Rotate($deviceId: ID!) { rotateDeviceApiKey(deviceId: $deviceId) { key } }",
            {"deviceId": device_id},
            token,
        )["rotateDeviceApiKey"]
        devices.append({"device_id": device_id, "key": str(rotated["key"])})
    return devices


def _create_meter(call: Any, token: str, home_id: str, name: str) -> str:
    created = call(
        "mutation Create($homeId: ID!, $name: String!) {"
        " createEnergyMeter(input: {homeId: $homeId, name: $name}) {"
        " __typename ... on EnergyMeter { id } } }",
        {"homeId": home_id, "name": name},
        token,
    )["createEnergyMeter"]
    if not created or not created.get("id"):
        raise SystemExit(f"createEnergyMeter returned {created!r}")
    log.info("created energy meter %s", created["id"])
    return str(created["id"])


# ---------------------------------------------------------------------------------------------
# Running the fleet
# ---------------------------------------------------------------------------------------------

COUNTERS = ("sampled", "sent", "acked", "rejected", "errors", "commands")


class VirtualDevice:
    """One virtual meter: profile + virtual PZEM + a real MeterNode, restartable on ``reboot``."""

    def __init__(
        self,
        index: int,
        device_id: str,
        key: str,
        cfg: dict[str, Any],
        *,
        seed: int,
        tz_offset_h: float,
        fault_rate: float,
        stagger_s: float,
    ) -> None:
        self.index = index
        self.device_id = device_id
        self.cfg = cfg
        self.seed = seed
        self.profile = HouseholdProfile(seed, tz_offset_h=tz_offset_h)
        rng = random.Random(f"meter:{seed}")
        self.rng = rng
        self.pzem = VirtualPZEM(
            self.profile,
            address=0x01,
            energy_wh=rng.uniform(0, 2_000_000),
            fault_rate=fault_rate,
            rng=rng,
        )
        # Kept across reboots, as flash would keep it. Starting at the Unix time keeps seq
        # increasing across emulator runs that reuse a keys file (at most one reading a second).
        self.seq = SeqCounter(start=int(time.time()))
        self.first_seq = self.seq.peek()
        self.stagger_s = stagger_s
        self.carried = dict.fromkeys(COUNTERS, 0)
        self.reboots = 0
        self.node: MeterNode = self._build()

    def _build(self) -> MeterNode:
        node = build_node(self.cfg, uart=self.pzem, seq=self.seq, rand=self.rng.random)
        node.next_sample_at = platform.monotonic_s() + self.stagger_s
        return node

    def counters(self) -> dict[str, int]:
        n = self.node
        errors = n.uploader.errors + n.sampler.errors
        errors += n.mqtt.errors if n.mqtt else 0
        errors += n.poller.errors if n.poller else 0
        now = {
            "sampled": n.sampler.samples,
            "sent": n.uploader.sent,
            "acked": n.uploader.acked,
            "rejected": n.uploader.rejected,
            "errors": errors,
            "commands": n.handler.executed + n.handler.duplicates + n.handler.failed,
        }
        return {k: now[k] + self.carried[k] for k in COUNTERS}

    def step(self) -> float:
        wait_s = self.node.step()
        if self.node.reboot_pending:
            log.info("device %s: reboot on command", self.device_id)
            self.node.stop()
            self.carried = self.counters()
            self.reboots += 1
            self.stagger_s = 1.0
            self.node = self._build()
            self.node.start()
            return 0.0
        return wait_s


def _worker(devices: list[VirtualDevice], stop: threading.Event) -> None:
    for d in devices:
        if stop.is_set():
            break
        d.node.start()
    while not stop.is_set():
        wait_s = 1.0
        for d in devices:
            if stop.is_set():
                break
            try:
                wait_s = min(wait_s, d.step())
            except Exception:  # one broken meter must not stop its shard
                log.exception("device %s: step failed", d.device_id)
        stop.wait(max(0.01, wait_s))
    for d in devices:
        try:
            d.node.stop()
        except Exception:
            log.exception("device %s: stop failed", d.device_id)


def _summary(devices: list[VirtualDevice], previous: dict[str, int], elapsed_s: float) -> str:
    totals = dict.fromkeys(COUNTERS, 0)
    buffered = unauthorized = 0
    for d in devices:
        for k, v in d.counters().items():
            totals[k] += v
        buffered += len(d.node.uploader.buffer)
        unauthorized += 1 if d.node.unauthorized else 0
    delta = {k: totals[k] - previous.get(k, 0) for k in COUNTERS}
    previous.update(totals)
    line = (
        f"[{elapsed_s:6.0f}s] sent {delta['sent']:+d} acked {delta['acked']:+d} "
        f"errors {delta['errors']:+d} | total sent={totals['sent']} acked={totals['acked']} "
        f"rejected={totals['rejected']} errors={totals['errors']} buffered={buffered} "
        f"commands={totals['commands']}"
    )
    if unauthorized:
        line += f" UNAUTHORIZED={unauthorized}"
    return line


def report(devices: list[VirtualDevice]) -> list[dict[str, Any]]:
    """What each meter sampled and what it still holds: its sequence numbers from
    ``first_seq`` to ``next_seq - 1`` were sampled; ``buffered`` are those not yet accepted
    by the server, ``dropped`` those its full buffer overwrote, ``rejected`` those the server
    refused."""
    out = []
    for d in devices:
        buffer = d.node.uploader.buffer
        out.append(
            {
                "device_id": d.device_id,
                "first_seq": d.first_seq,
                "next_seq": d.seq.peek(),
                "buffered": [r.get("seq") for r in buffer.peek(len(buffer))],
                "dropped": buffer.dropped,
                "rejected": d.counters()["rejected"],
            }
        )
    return out


def _template(value: str | None, device: dict[str, str]) -> str | None:
    return value.format(**device) if value else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m firmware.emulate", description=__doc__.split("\n")[0]
    )
    p.add_argument("--count", type=int, help="number of virtual meters (default: all keys)")
    p.add_argument("--server", required=True, help="base URL, e.g. http://localhost:8000")
    p.add_argument("--transport", choices=("http", "mqtt"), default="http")
    p.add_argument("--mqtt-host", help="default: the server's host")
    p.add_argument("--mqtt-port", type=int, default=1883)
    p.add_argument("--mqtt-user", help="broker username template, e.g. '{device_id}'")
    p.add_argument("--mqtt-password", help="broker password template, e.g. '{key}'")
    p.add_argument("--mqtt-client-id", default="gridtwin-{device_id}", help="client id template")
    p.add_argument("--interval", type=int, default=10, help="sampling interval [s]")
    p.add_argument("--upload-interval", type=int, default=10, help="upload interval [s]")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--keys-file", help='JSON list of {"device_id", "key"}')
    p.add_argument("--username", help="GraphQL login to create meters and keys")
    p.add_argument("--password")
    p.add_argument("--home-id", help="home of the meters (default: the user's first home)")
    p.add_argument("--name-prefix", default="Virtual meter")
    p.add_argument("--save-keys", help="write the created device keys to this file")
    p.add_argument("--seed", type=int, default=0, help="load profiles are deterministic per seed")
    p.add_argument("--tz-offset-h", type=float, default=0.0, help="households' UTC offset [h]")
    p.add_argument("--fault-rate", type=float, default=0.0, help="share of corrupted meter replies")
    p.add_argument("--workers", type=int, default=16, help="threads stepping the meters")
    p.add_argument("--log-level", default="WARNING")
    p.add_argument(
        "--report",
        help="at the end, write each meter's sampled and unsent sequence numbers "
        "to this file (JSON)",
    )
    args = p.parse_args(argv)
    if not args.keys_file and not (args.username and args.password):
        p.error("give --keys-file, or --username and --password (and optionally --home-id)")
    if args.count is not None and args.count < 1:
        p.error("--count must be >= 1")
    if not args.keys_file and args.count is None:
        p.error("--count is required when creating meters")
    return args


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM (a service manager's stop) both end the run cleanly: the meters send
    what they hold and the report is written. SIGINT is set even where it was ignored at start
    (a job started in the background by a shell ignores it, and Python keeps that)."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")

    if args.keys_file:
        keys = load_keys(args.keys_file)
        count = args.count or len(keys)
        if count > len(keys):
            raise SystemExit(f"{args.keys_file} holds {len(keys)} keys, --count asks for {count}")
        keys = keys[:count]
    else:
        keys = provision_via_graphql(
            args.server,
            username=args.username,
            password=args.password,
            home_id=args.home_id,
            count=args.count,
            name_prefix=args.name_prefix,
        )
    if args.save_keys:
        with open(args.save_keys, "w", encoding="utf-8") as fh:
            json.dump(keys, fh, indent=2)

    mqtt_host = args.mqtt_host or urllib.parse.urlsplit(args.server).hostname or "localhost"
    devices = []
    for i, device in enumerate(keys):
        overrides = {
            "server": args.server,
            "device_id": device["device_id"],
            "api_key": device["key"],
            "transport": args.transport,
            "mqtt_host": mqtt_host,
            "mqtt_port": args.mqtt_port,
            "mqtt_user": _template(args.mqtt_user, device),
            "mqtt_password": _template(args.mqtt_password, device),
            "mqtt_client_id": _template(args.mqtt_client_id, device),
            "sample_interval_s": args.interval,
            "upload_interval_s": args.upload_interval,
            "http_timeout_s": 5,
            "pzem_address": 0x01,
            "seq_path": None,
        }
        cfg = config.merged(overrides)
        config.validate(cfg)
        devices.append(
            VirtualDevice(
                i,
                device["device_id"],
                device["key"],
                cfg,
                seed=args.seed * 100_003 + i,
                tz_offset_h=args.tz_offset_h,
                fault_rate=args.fault_rate,
                stagger_s=args.interval * i / len(keys),
            )
        )

    workers = max(1, min(args.workers, len(devices)))
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_worker, args=(devices[w::workers], stop), name=f"meters-{w}", daemon=True
        )
        for w in range(workers)
    ]
    _stop_on_signals()
    started = time.monotonic()
    for t in threads:
        t.start()
    print(
        f"{len(devices)} virtual meters over {args.transport}, {workers} worker threads; "
        "Ctrl-C stops",
        flush=True,
    )
    previous: dict[str, int] = {}
    try:
        while True:
            elapsed = time.monotonic() - started
            if args.duration is not None and elapsed >= args.duration:
                break
            stop.wait(min(1.0, args.duration - elapsed) if args.duration is not None else 1.0)
            print(_summary(devices, previous, time.monotonic() - started), flush=True)
    except KeyboardInterrupt:
        print("stopping...", flush=True)
    finally:
        stop.set()
        deadline = time.monotonic() + 15  # each meter sends what it holds, all within 15 s
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
    print(_summary(devices, previous, time.monotonic() - started), flush=True)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            json.dump(report(devices), fh)
    return 1 if any(d.node.unauthorized for d in devices) else 0


if __name__ == "__main__":
    sys.exit(main())
