"""Every core: `make run` starts one web process per CPU (``WEB_CONCURRENCY`` to change it), and
the Procfile's web command serves with that many uvicorn workers, each with its own pub/sub hub,
their metrics added up."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.typing import Subprotocol

from config import run
from devices.live import channels, store
from tests.accounts.factories import UserFactory
from tests.conftest import token_for
from tests.monitoring.support import scrape, value
from tests.web_process import procfile_web_group

SUBSCRIBERS = 8
ENERGY_STATS = "subscription { energyStats { productionW } }"


def test_one_web_process_per_cpu_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert run.web_concurrency() == os.cpu_count()
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert run.web_concurrency() == 3
    monkeypatch.setenv("WEB_CONCURRENCY", "0")
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY"):
        run.web_concurrency()


def _workers_of(group: int) -> set[int]:
    """Process ids of uvicorn's worker processes in a process group (its children that serve)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[2]) == group and b"spawn_main" in command:  # a worker uvicorn spawned
            found[int(entry.name)] = int(fields[1])
    return set(found)


@pytest.mark.django_db(transaction=True)
def test_several_web_processes_each_serve_their_own_subscribers(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    users = [UserFactory(username=f"user{n}") for n in range(SUBSCRIBERS)]
    with procfile_web_group(WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as (
        url,
        group,
    ):
        assert len(_workers_of(group)) == 2

        async def scenario() -> list[float]:
            sockets = []
            for user in users:
                ws = await websockets.connect(
                    url.replace("http", "ws") + "/graphql/",
                    subprotocols=[Subprotocol("graphql-transport-ws")],
                )
                init = {"Authorization": f"Bearer {token_for(user)}"}
                await ws.send(json.dumps({"type": "connection_init", "payload": init}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await ws.send(
                    json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ENERGY_STATS}})
                )
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert first["payload"]["data"]["energyStats"]["productionW"] is None
                sockets.append(ws)
            connected = await asyncio.to_thread(
                lambda: value(scrape(url), "gridtwin_websocket_connections")
            )
            assert connected == SUBSCRIBERS  # counted by whichever process holds each
            for n, user in enumerate(users):
                store.publish(channels.user_channel(user.pk), _stats(1000.0 + n))
            received = []
            for ws in sockets:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                received.append(message["payload"]["data"]["energyStats"]["productionW"])
                await ws.close()
            return received

        received = asyncio.run(scenario())
    # each subscriber got its own user's value, whichever process served it
    assert received == [1000.0 + n for n in range(SUBSCRIBERS)]


def _stats(production_w: float) -> dict[str, Any]:
    now = time.time()
    return {"production_w": production_w, "consumption_w": 1.0, "ts": now, "until": now + 120}
