"""docker-compose.yml runs the platform: each service's command, as the compose file states it,
runs here as a local process against the test's PostgreSQL, Redis and MQTT broker.

Containers cannot run here, so the test does what Compose would do with a container: the
service's command and environment come from the compose file (interpolated as Compose does),
and only what a container would see differently is mapped — the hosts ``postgres``, ``redis``
and ``mosquitto`` to the test's servers, the published port 8000 to a free local port, and
container paths (``/tmp``, tmpfs mounts) to a directory of the test. A change in the compose
file changes what runs here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from paho.mqtt import client as mqtt

from celery_app import app as celery
from config.local_servers import free_port
from devices import hardware
from devices.models import Device, Reading
from tests.config import compose
from tests.conftest import token_for
from tests.devices.factories import (
    BatteryFactory,
    EnergyMeterFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.devices.support import reading
from tests.polling import wait_until
from tests.simulators.farm.stack import database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TICK_S = 2
CONTAINER_PORT = "8000"
#: What an operator would put in the environment of `docker compose up` (README "Production").
SECRET_KEY = settings.SECRET_KEY  # the test's, so that its tokens and device keys hold
OPERATOR_ENV = {
    "SECRET_KEY": SECRET_KEY,
    "MQTT_PASSWORD": "not-used-by-the-test-broker",
    "TICK_SECONDS": str(TICK_S),
    "ALLOWED_HOSTS": "127.0.0.1",
    "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
}
#: Which compose service each URL setting must name, and the test's server taking its place.
SERVER_URLS = {"DATABASE_URL": "postgres", "REDIS_URL": "redis", "MQTT_URL": "mosquitto"}

STATS = "query($homeId: ID) { energyStats(homeId: $homeId) { productionW timestamp stale } }"
DEVICE_LIVE = "query($id: ID!) { device(id: $id) { id live { powerW stale } } }"


class ComposeStack:
    """The compose file's services as local processes; all stopped at the end of the test."""

    def __init__(self, workdir: Path, topic_prefix: str) -> None:
        self.workdir = workdir
        self.services = compose.services(OPERATOR_ENV)
        self.port = str(free_port())
        self.topic_prefix = topic_prefix
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    # -- what a container sees, mapped to this machine ---------------------------------------

    def _path(self, value: str) -> str:
        """Container paths under /tmp or a tmpfs mount, wherever they appear in ``value``, as
        directories of this test."""
        for mount in ["/tmp", *self._tmpfs_all()]:
            local = self.workdir / "fs" / mount.strip("/").replace("/", "_")
            local.mkdir(parents=True, exist_ok=True)
            value = re.sub(rf"(?<![\w/.]){re.escape(mount)}(?=/|\b|$)", str(local), value)
        return value

    def _tmpfs_all(self) -> list[str]:
        return [path for service in self.services.values() for path in service.get("tmpfs", [])]

    def _arg(self, value: str) -> str:
        value = self._path(value)
        # The published web port, and the health check's URL of it.
        return value.replace(f"127.0.0.1:{CONTAINER_PORT}", f"127.0.0.1:{self.port}")

    def args(self, name: str) -> list[str]:
        args = [self._arg(arg) for arg in compose.command_args(self.services[name])]
        for flag, container, local in (("--host", "0.0.0.0", "127.0.0.1"),
                                       ("--port", CONTAINER_PORT, self.port)):  # fmt: skip
            if flag in args and args[args.index(flag) + 1] == container:
                args[args.index(flag) + 1] = local
        return args

    def env(self, name: str) -> dict[str, str]:
        env = compose.environment(self.services[name])
        for setting, host in SERVER_URLS.items():
            assert urlsplit(env[setting]).hostname == host, f"{name}: {setting} is {env[setting]}"
        env.update(
            DATABASE_URL=database_url(),
            REDIS_URL=settings.REDIS_URL,
            MQTT_URL=settings.MQTT_URL,  # the shared test broker takes no passwords
            # The test's Redis holds this run's state in its own database, not REDIS_URL's next.
            REDIS_STATE_URL=settings.REDIS_STATE_URL,
            # The test broker is shared: topics (and the bridge's session) of this run only.
            MQTT_TOPIC_PREFIX=self.topic_prefix,
        )
        env = {key: self._path(value) for key, value in env.items()}
        bindir = str(Path(sys.executable).parent)
        env.update(
            PATH=os.pathsep.join([bindir, "/usr/local/bin", "/usr/bin", "/bin"]),
            HOME=str(self.workdir),
            HOSTNAME=socket.gethostname(),  # as Docker sets it in every container
        )
        return env

    # -- running ------------------------------------------------------------------------------

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, name: str) -> subprocess.Popen[bytes]:
        with self.log(name).open("ab") as log:
            process = subprocess.Popen(
                self.args(name), cwd=compose.ROOT, env=self.env(name), stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.processes[name] = process
        return process

    def run_once(self, name: str, timeout_s: float = 120) -> int:
        return self.start(name).wait(timeout=timeout_s)

    def healthy(self, name: str) -> bool:
        args = [self._arg(arg) for arg in compose.healthcheck_args(self.services[name])]
        done = subprocess.run(
            args, cwd=compose.ROOT, env=self.env(name), capture_output=True, timeout=60,
            check=False,
        )  # fmt: skip
        return done.returncode == 0

    def running(self) -> bool:
        """Every long-running service still runs (fails the test naming the one that ended)."""
        for name, process in self.processes.items():
            if name != "migrate" and process.poll() is not None:
                raise AssertionError(f"{name} exited ({process.returncode}):\n{self.tail(name)}")
        return True

    def tail(self, name: str) -> str:
        path = self.log(name)
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def stack(transactional_db: None, tmp_path: Path) -> Iterator[ComposeStack]:
    started = ComposeStack(tmp_path, f"test-{uuid.uuid4().hex[:10]}/gridtwin/devices")
    try:
        yield started
    finally:
        started.stop_all()
        celery.control.purge()  # what beat sent and nobody took (the run's prefix)
        for name in started.processes:
            print(f"--- {name}\n{started.tail(name)}")


def _graphql(base: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(
        f"{base}/graphql/",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    return body["data"]


def _answers(url: str, status: int) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == status
    except httpx.TransportError:
        return False


def test_the_compose_services_tick_ingest_and_answer_probes(stack: ComposeStack, user: Any) -> None:
    # given a seeded home (simulated panel and battery) and a real meter with its device key
    home = HomeFactory(owner=user, latitude=51.5, longitude=-0.1, timezone="Europe/London")
    SolarPanelFactory(home=home)
    BatteryFactory(home=home, level_wh=5000.0)
    meter = EnergyMeterFactory(home=home, reporting_interval_s=10)
    key = hardware.device_api_key_rotate(user_id=user.pk, device_id=meter.pk).key
    token = token_for(user)

    # when migrate runs to completion, then web, worker, beat and the bridge start
    assert stack.run_once("migrate") == 0, stack.tail("migrate")
    schedules = PeriodicTask.objects.filter(enabled=True)
    assert schedules.filter(task="simulators.run_energy_simulation").exists()
    assert schedules.filter(task="devices.heartbeat_check").exists()
    for name in ("web", "worker", "beat", "mqtt"):
        depends = stack.services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        stack.start(name)
    base = f"http://127.0.0.1:{stack.port}"

    # then the web service answers its health check, and /healthz
    wait_until(lambda: stack.running() and stack.healthy("web"), "web's health check", 60)
    health = httpx.get(f"{base}/healthz", timeout=5)
    assert health.status_code == 200 and health.json() == {"status": "ok"}

    # and the farm ticks: energyStats over GraphQL shows a fresh value, and a newer one next
    def stats() -> dict[str, Any] | None:
        result: dict[str, Any] | None = _graphql(base, token, STATS, {"homeId": str(home.pk)})[
            "energyStats"
        ]
        return result

    seen: list[str] = []

    def fresh_tick() -> bool:
        value = stack.running() and stats()
        if value and not value["stale"] and value["timestamp"] not in seen:
            seen.append(value["timestamp"])
        return len(seen) >= 2

    wait_until(fresh_tick, "two fresh ticks of the home's energy stats", 90)
    assert datetime.fromisoformat(seen[1]) > datetime.fromisoformat(seen[0])

    # and ingests: a reading published as the meter does is stored and shows live
    publisher = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"gridtwin-{meter.pk}-{uuid.uuid4().hex[:6]}"
    )
    host, port = urlsplit(settings.MQTT_URL).hostname, urlsplit(settings.MQTT_URL).port
    publisher.connect(host or "127.0.0.1", port or 1883)
    publisher.loop_start()
    seq = iter(range(1, 100_000))
    try:

        def stored() -> bool:
            # Until the bridge has subscribed a message is lost: publish until one is stored.
            stack.running()
            body = {**reading(at=datetime.now(UTC) - timedelta(seconds=1), seq=next(seq),
                              power=1234.5), "key": key}  # fmt: skip
            topic = f"{stack.topic_prefix}/{meter.pk}/telemetry"
            publisher.publish(topic, orjson.dumps(body), qos=1).wait_for_publish(5)
            return Reading.objects.filter(device=meter, power_w=1234.5).exists()

        wait_until(stored, "a reading published over MQTT stored in PostgreSQL", 60)
    finally:
        publisher.disconnect()
        publisher.loop_stop()

    def live_power() -> Any:
        return _graphql(base, token, DEVICE_LIVE, {"id": str(meter.pk)})["device"]["live"]

    wait_until(lambda: live_power()["powerW"] == 1234.5, "the reading shown live", 30)
    assert live_power()["stale"] is False
    assert Device.objects.get(pk=meter.pk).status == "online"

    # and /readyz finds database, Redis, broker and farm fine; worker and beat pass their checks
    wait_until(lambda: _answers(f"{base}/readyz", 200), "/readyz to answer 200", 60)
    checks = json.loads(httpx.get(f"{base}/readyz", timeout=5).text)["checks"]
    assert all(check["ok"] for check in checks.values()), checks
    assert stack.healthy("worker"), stack.tail("worker")
    assert stack.healthy("beat"), stack.tail("beat")
    assert stack.healthy("mqtt"), stack.tail("mqtt")
    assert stack.running()
