"""/metrics in the Prometheus text format: what each part of the platform counts.

The server runs in this process (a real uvicorn in a thread), so its metrics and the farm's,
counted here, are the same registry; tests compare before and after, never absolute values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from paho.mqtt import client as mqtt

from devices import hardware
from devices.ingest.mqtt import Bridge
from devices.models import AlertKind, Reading
from monitoring import metrics
from simulators import farm
from simulators.tasks import tick_run
from tests.conftest import token_for
from tests.devices.factories import (
    BatteryFactory,
    EnergyMeterFactory,
    HomeFactory,
    SolarPanelFactory,
)
from tests.devices.ingest.test_mqtt_bridge import pump, send
from tests.devices.support import _private_mqtt_topics, batch  # noqa: F401
from tests.graphql_api.live_server import LiveServer, RawClient, live_server
from tests.monitoring.support import delta, rendered, scrape, value

pytestmark = pytest.mark.django_db(transaction=True)

MY_HOMES = "query MyHomes { homes { id } }"
SUBSCRIPTION = "subscription { energyStats { productionW } }"


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with live_server() as running:
        yield running


def base(server: LiveServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def a_home(**fields: Any) -> Any:
    home = HomeFactory(latitude=51.5, longitude=-0.12, timezone="Europe/London", **fields)
    BatteryFactory(home=home)
    return home


def test_request_latency_by_graphql_operation_and_by_route(server: LiveServer, user: Any) -> None:
    before = scrape(base(server))
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    with httpx.Client(base_url=base(server), headers=headers, timeout=10) as client:
        for _ in range(2):
            assert client.post("/graphql/", json={"query": MY_HOMES}).status_code == 200
        assert client.post("/graphql/", json={"query": "{ me { id } }"}).status_code == 200
        assert client.get("/no/such/page/").status_code == 404

    after = scrape(base(server))

    operation = "gridtwin_graphql_operation_duration_seconds"
    assert delta(before, after, f"{operation}_count", operation="MyHomes", type="query") == 2
    assert delta(before, after, f"{operation}_count", operation="anonymous", type="query") == 1
    assert delta(before, after, f"{operation}_sum", operation="MyHomes", type="query") > 0
    route = "gridtwin_http_request_duration_seconds"
    assert delta(before, after, f"{route}_count", route="graphql/", method="POST") == 3
    assert delta(before, after, f"{route}_count", route="unmatched", method="GET") == 1
    responses = "gridtwin_http_responses_total"
    assert delta(before, after, responses, route="graphql/", method="POST", status="200") == 3
    assert delta(before, after, responses, route="unmatched", method="GET", status="404") == 1


def test_operation_names_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_operation_names", set())
    monkeypatch.setattr(metrics, "MAX_OPERATION_NAMES", 2)

    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("First") == "First"
    assert metrics.operation_label("not a name!") == "other"
    assert metrics.operation_label(42) == "other"
    assert metrics.operation_label("Second") == "Second"
    assert metrics.operation_label("Third") == "other"
    assert metrics.operation_label("First") == "First"


def test_tick_phases_devices_and_the_last_tick(server: LiveServer) -> None:
    home = a_home()  # one home: one shard, whatever its id
    SolarPanelFactory(home=home)
    before = scrape(base(server))

    assert tick_run() == "started"  # eager: shards and finalize run in this process

    after = scrape(base(server))
    phase = "gridtwin_tick_phase_duration_seconds_count"
    for name in ("load", "physics", "write", "checkpoint", "finalize"):
        assert delta(before, after, phase, phase=name) == 1, name
    assert delta(before, after, "gridtwin_devices_stepped_total") == 2
    assert delta(before, after, "gridtwin_ticks_total", outcome="claimed") == 1
    assert delta(before, after, "gridtwin_ticks_total", outcome="finalized") == 1
    assert delta(before, after, "gridtwin_tick_duration_seconds_count") == 1
    tick = farm.tick_align(datetime.now(UTC))
    assert value(after, "gridtwin_tick_last_finalized_timestamp_seconds") >= tick.timestamp() - 1


def test_skipped_ticks_and_failed_shards_are_counted() -> None:
    a_home()
    now = farm.tick_align(datetime.now(UTC))
    before = rendered()

    plan = farm.tick_claim(tick_at=now)
    assert isinstance(plan, farm.TickPlan)
    assert farm.tick_claim(tick_at=now) == "duplicate"
    assert farm.tick_claim(tick_at=farm.tick_after(now)) == "skipped"
    farm.tick_finalize(result_keys=[None], tick_at=now, shards=plan.shards)

    after = rendered()
    assert delta(before, after, "gridtwin_ticks_total", outcome="duplicate") == 1
    assert delta(before, after, "gridtwin_ticks_total", outcome="skipped") == 1
    assert delta(before, after, "gridtwin_shards_failed_total") == 1


def test_readings_ingested_and_refused_over_http(server: LiveServer, user: Any) -> None:
    meter = EnergyMeterFactory(home__owner=user, reporting_interval_s=10)
    key = hardware.device_api_key_rotate(user_id=user.pk, device_id=meter.pk).key
    before = scrape(base(server))
    with httpx.Client(base_url=base(server), timeout=10) as client:
        stored = client.post("/api/v1/telemetry", json=batch(3), headers={"X-API-Key": key})
        assert stored.status_code == 201, stored.text
        bad_key = client.post("/api/v1/telemetry", json=batch(1), headers={"X-API-Key": "nope"})
        assert bad_key.status_code == 401
        invalid = client.post(
            "/api/v1/telemetry", json={"readings": [{"power": "x"}]}, headers={"X-API-Key": key}
        )
        assert invalid.status_code == 400

    after = scrape(base(server))
    assert delta(before, after, "gridtwin_readings_ingested_total", transport="http") == 3
    assert delta(before, after, "gridtwin_readings_stored_total", transport="http") == 3
    refused = "gridtwin_telemetry_refused_total"
    assert delta(before, after, refused, transport="http", reason="bad_key") == 1
    assert delta(before, after, refused, transport="http", reason="invalid") == 1
    route = "gridtwin_http_request_duration_seconds_count"
    assert delta(before, after, route, route="api/v1/telemetry", method="POST") == 3


def test_mqtt_readings_malformed_and_unauthorized_messages(
    settings: Any,
    user: Any,
    publisher: mqtt.Client,
) -> None:
    meter = EnergyMeterFactory(home__owner=user, reporting_interval_s=10)
    key = hardware.device_api_key_rotate(user_id=user.pk, device_id=meter.pk).key
    bridge = Bridge(prefix=settings.MQTT_TOPIC_PREFIX, flush_interval_s=0.1, threaded_writes=False)
    bridge.start()
    try:
        assert bridge.subscribed.wait(5), "no broker at MQTT_URL"
        before = rendered()
        send(publisher, meter.pk, "telemetry", {**batch(4), "key": key})
        send(publisher, meter.pk, "telemetry", b"{not json", raw=True)
        send(publisher, meter.pk, "telemetry", {**batch(1), "key": "wrong"})
        pump(bridge, lambda: bridge.counters["messages"] >= 3)
        bridge._flush_rows(force=True)
    finally:
        bridge.close()

    after = rendered()
    assert Reading.objects.filter(device=meter).count() == 4
    assert delta(before, after, "gridtwin_readings_ingested_total", transport="mqtt") == 4
    assert delta(before, after, "gridtwin_readings_stored_total", transport="mqtt") == 4
    assert delta(before, after, "gridtwin_mqtt_malformed_total", reason="json") == 1
    assert delta(before, after, "gridtwin_mqtt_dropped_total", reason="malformed") == 1
    assert delta(before, after, "gridtwin_mqtt_dropped_total", reason="unauthorized") == 1
    refused = "gridtwin_telemetry_refused_total"
    assert delta(before, after, refused, transport="mqtt", reason="bad_key") == 1


def test_command_states_and_alerts(user: Any) -> None:
    meter = EnergyMeterFactory(home__owner=user, reporting_interval_s=10)
    battery = BatteryFactory(home=meter.home)
    before = rendered()

    answered, unanswered = (
        hardware.command_send(
            user_id=user.pk, device_id=meter.pk, command="set_interval", args={"seconds": 30}
        )
        for _ in range(2)
    )
    hardware.command_send(
        user_id=user.pk, device_id=battery.pk, command="set_battery_reserve", args={"min_soc": 0.2}
    )
    hardware.command_ack(device_id=meter.pk, command_id=str(answered.pk), status="failed")
    hardware.alert_raise(
        device_id=meter.pk, owner_id=user.pk, kind=AlertKind.POWER_HIGH, message="high"
    )
    hardware.alert_clear(device_id=meter.pk, owner_id=user.pk, kind=AlertKind.POWER_HIGH)
    hardware.commands_retry(now=datetime.now(UTC) + timedelta(days=1))  # the other one expires

    after = rendered()
    commands = "gridtwin_commands_total"
    assert delta(before, after, commands, state="pending") == 2
    assert delta(before, after, commands, state="acknowledged") == 1
    assert delta(before, after, commands, state="failed") == 1
    assert delta(before, after, commands, state="expired") == 1
    assert unanswered.pk != answered.pk
    alerts = "gridtwin_alerts_total"
    assert delta(before, after, alerts, kind="power_high", event="raised") == 1
    assert delta(before, after, alerts, kind="power_high", event="cleared") == 1


def test_websocket_connections_and_deliveries(server: LiveServer, user: Any) -> None:
    a_home(owner=user)
    before = scrape(base(server))

    async def subscribe_once() -> float:
        client = await RawClient.connect(server.url)
        assert (await client.init(token_for(user)))["type"] == "connection_ack"
        await client.subscribe("1", SUBSCRIPTION)
        assert (await client.recv())["type"] == "next"  # the snapshot
        open_now = value(
            await asyncio.to_thread(scrape, base(server)), "gridtwin_websocket_connections"
        )
        await client.close()
        return open_now

    open_during = asyncio.run(subscribe_once())

    assert open_during == value(before, "gridtwin_websocket_connections") + 1
    after = scrape(base(server))
    assert delta(before, after, "gridtwin_websocket_deliveries_total") == 1
    for _ in range(50):  # the server notices the close a moment later
        if value(after, "gridtwin_websocket_connections") == value(
            before, "gridtwin_websocket_connections"
        ):
            break
        asyncio.run(asyncio.sleep(0.05))
        after = scrape(base(server))
    assert value(after, "gridtwin_websocket_connections") == value(
        before, "gridtwin_websocket_connections"
    )
