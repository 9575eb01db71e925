"""The committed Mosquitto configuration, run by a real Mosquitto with a generated password file:
logins are required, a meter writes only its own topics and reads only its own commands, and the
platform's login reads and writes every device's topics.

Only what a container would see differently is changed: the listeners' ports (free local ones),
the /mosquitto/ paths (a directory of the test) and the user the broker runs as.
"""

from __future__ import annotations

import getpass
import itertools
import queue
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from config.local_servers import free_port, port_open
from tests.config import compose
from tests.polling import wait_until

CONFIG_DIR = compose.ROOT / "deploy" / "mosquitto"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
PLATFORM = ("gridtwin", "platform-password")
METERS = {"41": "meter-41-password", "42": "meter-42-password"}
PREFIX = "gridtwin/devices"
BRIDGE_ID = "gridtwin-bridge:gridtwin/devices"  # the bridge's default client id


class Broker:
    """The running broker: ``ports["devices"]`` (published as 1883), ``ports["platform"]`` (1884,
    inside the deployment)."""

    def __init__(self, ports: dict[str, int], process: subprocess.Popen[bytes], log: Path) -> None:
        self.ports = ports
        self.process = process
        self.log = log


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto with the committed mosquitto.conf and acl, and a password file made by
    mosquitto_passwd as README.md tells operators to make it."""
    for tool in (MOSQUITTO, MOSQUITTO_PASSWD):
        assert Path(tool).exists(), f"{tool} missing: install Debian's mosquitto package"
    workdir = tmp_path / "mosquitto"
    (workdir / "config").mkdir(parents=True)
    (workdir / "data").mkdir()
    shutil.copy(CONFIG_DIR / "acl", workdir / "config" / "acl")
    passwd = workdir / "config" / "passwd"
    for i, (user, password) in enumerate([PLATFORM, *METERS.items()]):
        create = ["-c"] if i == 0 else []
        subprocess.run([MOSQUITTO_PASSWD, *create, "-b", str(passwd), user, password], check=True)
    ports = {"devices": free_port(), "platform": free_port()}
    config = (CONFIG_DIR / "mosquitto.conf").read_text()
    for name, container_port in (("devices", 1883), ("platform", 1884)):
        line = re.compile(rf"^listener {container_port}$", re.MULTILINE)
        assert line.search(config), "a listener moved: update me"
        config = line.sub(f"listener {ports[name]} 127.0.0.1", config)
    config = config.replace("/mosquitto/", f"{workdir}/")
    # Started as root, Mosquitto would switch to its own user, which cannot read the test's files.
    config += f"\nuser {getpass.getuser()}\n"
    (workdir / "mosquitto.conf").write_text(config)
    log = workdir / "mosquitto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [MOSQUITTO, "-c", str(workdir / "mosquitto.conf")], stdout=output, stderr=output
        )
    try:
        wait_until(
            lambda: process.poll() is None
            and all(port_open("127.0.0.1", port, 0.2) for port in ports.values()),
            "mosquitto to accept connections (it refused the configuration if it exited)",
            15,
        )
        yield Broker(ports, process, log)
    finally:
        process.terminate()
        process.wait(timeout=10)
        print(log.read_text(errors="replace")[-3000:])


class Client:
    """A paho client that records what it receives, in order, and its disconnections."""

    def __init__(
        self,
        broker: Broker,
        username: str | None,
        password: str | None,
        *,
        listener: str = "devices",
        client_id: str | None = None,
    ) -> None:
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connack: queue.Queue[mqtt.ReasonCode] = queue.Queue()
        self.disconnects: queue.Queue[object] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{username}-{uuid.uuid4().hex[:6]}",
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda _c, _u, _f, reason, _p: self.connack.put(reason)
        self.client.on_message = lambda _c, _u, msg: self.received.put((msg.topic, msg.payload))
        self.client.on_disconnect = lambda *args: self.disconnects.put(args)
        self.client.connect("127.0.0.1", broker.ports[listener])
        self.client.loop_start()
        self.reason = self.connack.get(timeout=10)

    def subscribe(self, topic: str) -> None:
        subscribed: queue.Queue[object] = queue.Queue()
        self.client.on_subscribe = lambda *args: subscribed.put(args)
        self.client.subscribe(topic, qos=1)
        subscribed.get(timeout=10)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def next_message(self) -> tuple[str, bytes]:
        return self.received.get(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients(broker: Broker) -> Iterator[dict[str, Client]]:
    made = {
        "platform": Client(broker, *PLATFORM, listener="platform", client_id=BRIDGE_ID),
        "41": Client(broker, "41", METERS["41"]),
        "42": Client(broker, "42", METERS["42"]),
    }
    try:
        for client in made.values():
            assert not client.reason.is_failure, client.reason
        yield made
    finally:
        for client in made.values():
            client.close()


def test_the_broker_refuses_anonymous_and_wrong_passwords(broker: Broker) -> None:
    for (username, password), listener in itertools.product(
        ((None, None), ("41", "not-its-password"), ("43", "unknown")), ("devices", "platform")
    ):
        client = Client(broker, username, password, listener=listener)
        try:
            assert client.reason.is_failure, (username, client.reason)
        finally:
            client.close()


def test_a_meter_writes_only_its_own_topics(clients: dict[str, Client]) -> None:
    # given the platform following every device, as the bridge does
    clients["platform"].subscribe(f"{PREFIX}/+/+")

    # when meter 41 publishes as meter 42, then on its own topics (in this order)
    for leaf in ("telemetry", "status", "acks", "commands"):
        clients["41"].publish(f"{PREFIX}/42/{leaf}", b"forged")
    clients["41"].publish(f"{PREFIX}/41/commands", b"a command to itself")
    for leaf in ("telemetry", "status", "acks"):
        clients["41"].publish(f"{PREFIX}/41/{leaf}", b"own")

    # then the platform receives its own messages, and nothing forged came first (one client's
    # messages arrive in the order it sent them)
    received = [clients["platform"].next_message() for _ in range(3)]
    assert received == [(f"{PREFIX}/41/{leaf}", b"own") for leaf in ("telemetry", "status", "acks")]
    assert clients["platform"].received.empty()


def test_a_meter_reads_only_its_own_commands(clients: dict[str, Client]) -> None:
    # given meter 41 subscribed to its own commands and to meter 42's and to everything
    for topic in (f"{PREFIX}/41/commands", f"{PREFIX}/42/commands", f"{PREFIX}/#"):
        clients["41"].subscribe(topic)

    # when the platform sends commands to 42 and then 41, and 42 sends telemetry
    clients["42"].publish(f"{PREFIX}/42/telemetry", b"42's reading, with its key")
    clients["platform"].publish(f"{PREFIX}/42/commands", b"for 42")
    clients["platform"].publish(f"{PREFIX}/41/commands", b"for 41")

    # then meter 41 gets its own command only (once per matching subscription), nothing else
    clients["platform"].publish(f"{PREFIX}/41/commands", b"last")
    received: list[tuple[str, bytes]] = []
    while not received or received[-1][1] != b"last":
        received.append(clients["41"].next_message())
    assert {topic for topic, _ in received} == {f"{PREFIX}/41/commands"}
    assert {payload for _, payload in received} == {b"for 41", b"last"}


def test_a_meter_cannot_take_over_another_session_by_its_client_id(
    clients: dict[str, Client], broker: Broker
) -> None:
    # given the bridge's session (on the platform's listener) and meter 42's
    clients["platform"].subscribe(f"{PREFIX}/+/telemetry")

    # when meter 41 connects as the bridge's client id, then as meter 42's
    for stolen in (BRIDGE_ID, clients["42"].client._client_id.decode()):
        thief = Client(broker, "41", METERS["41"], client_id=stolen)
        try:
            assert not thief.reason.is_failure
            # then both keep their connections (a takeover closes the old one before the new
            # one is answered): a round trip after it finds them connected still
            clients["42"].publish(f"{PREFIX}/42/telemetry", stolen.encode())
            assert clients["platform"].next_message() == (
                f"{PREFIX}/42/telemetry",
                stolen.encode(),
            )
        finally:
            thief.close()
    assert clients["platform"].disconnects.empty()
    assert clients["42"].disconnects.empty()


def test_the_compose_health_check_finds_the_broker_answering(broker: Broker) -> None:
    mosquitto = compose.raw()["services"]["mosquitto"]
    args = compose.healthcheck_args(mosquitto)
    assert "-p 1883" in args[-1]
    args[-1] = args[-1].replace("-p 1883", f"-p {broker.ports['devices']}")
    assert subprocess.run(args, capture_output=True, timeout=30, check=False).returncode == 0
    broker.process.terminate()
    broker.process.wait(timeout=10)
    assert subprocess.run(args, capture_output=True, timeout=30, check=False).returncode != 0
