"""
Benchmark: live energyStats over WebSocket to N concurrent subscribers, on one or several server
processes.

Run with ``make bench-live`` (``python -m tests.with_servers -- python -m bench.live``; options:
``--clients 1000 5000``, ``--spread 20000`` (spread over ``--web-processes``), ``--homes``,
``--ticks``, ``--client-procs``, ``--ws``, ``--deflate``). A throwaway database gets users and
homes; uvicorn processes serve ``config.asgi`` with the Procfile's WebSocket implementation, each
with its own pub/sub hub, all on one Redis; client processes open the WebSockets (raw
``websockets``, speaking graphql-transport-ws), each subscribing to ``energyStats(homeId)`` of
one home (clients spread evenly over the homes, and over the server processes). Then each tick
publishes one message per home in one pipelined round trip, stamped with the publish time; every
client notes when the message arrives. Prints, per N: delivered against expected, delivery
latency publish -> receipt (p50, p99, max over all deliveries of all ticks), server CPU time per
delivered message, and server RSS per connection (RSS of the server processes with N subscribed
minus before the first connection, over N).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import time
from contextlib import ExitStack
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

import psutil

from bench.common import ROOT, bench_env, fresh_database, manage, percentile, uvicorn_process

SUBSCRIPTION = (
    "subscription($homeId: ID) { energyStats(homeId: $homeId) "
    "{ homeId productionW consumptionW netGridFlowW timestamp } }"
)
PROTOCOL = "graphql-transport-ws"


def raise_open_files_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- client processes ------------------------------------------------------------------------


async def _clients(
    work: list[tuple[str, str, int]], deflate: bool, connecting: int, pipe: Connection
) -> None:
    import websockets
    from websockets.typing import Subprotocol

    receipts: list[tuple[float, bytes | str]] = []
    gate = asyncio.Semaphore(connecting)

    async def open_one(url: str, token: str, home_id: int) -> Any:
        async with gate:
            ws = await websockets.connect(
                url,
                subprotocols=[Subprotocol(PROTOCOL)],
                compression="deflate" if deflate else None,
                ping_interval=None,
                open_timeout=60,
                max_queue=4,
            )
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            await ws.send(json.dumps(init))
            ack = json.loads(await ws.recv())
            if ack["type"] != "connection_ack":
                raise RuntimeError(ack)
            await ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": SUBSCRIPTION, "variables": {"homeId": str(home_id)}},
                    }
                )
            )
            snapshot = json.loads(await ws.recv())
            if snapshot["type"] != "next":
                raise RuntimeError(snapshot)
            return ws

    sockets = await asyncio.gather(*(open_one(url, token, home) for url, token, home in work))

    async def read(ws: Any) -> None:
        async for raw in ws:
            receipts.append((time.time(), raw))

    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    loop = asyncio.get_running_loop()
    pipe.send(("ready", len(sockets)))
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "count":
            pipe.send(len(receipts))
        elif command == "report":
            latencies = []
            for received_at, raw in receipts:
                message = json.loads(raw)
                stamp = message["payload"]["data"]["energyStats"]["timestamp"]
                latencies.append(received_at - datetime.fromisoformat(stamp).timestamp())
            pipe.send(latencies)
            receipts.clear()
        elif command == "close":
            for task in readers:
                task.cancel()
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            pipe.send("closed")
            return


def client_process(
    work: list[tuple[str, str, int]], deflate: bool, connecting: int, pipe: Connection
) -> None:
    raise_open_files_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(_clients(work, deflate, connecting, pipe))
    except Exception as exc:
        pipe.send(("error", repr(exc)))
        raise


# --- the run ---------------------------------------------------------------------------------


def setup_population(users: int, homes: int) -> list[tuple[str, int]]:
    """Create users and homes; return (access token, home id) for every home."""
    from accounts.models import User
    from accounts.tokens import access_token_issue
    from devices.models import Home

    owners = User.objects.bulk_create(
        [User(username=f"live{n}", password="!") for n in range(users)]
    )
    created = Home.objects.bulk_create(
        [
            Home(owner=owners[n % users], name=f"home {n}", latitude=52.5, longitude=13.4,
                 timezone="Europe/Berlin", base_load_w=400.0)
            for n in range(homes)
        ]
    )  # fmt: skip
    tokens = {owner.pk: access_token_issue(user_id=owner.pk)[0] for owner in owners}
    return [(tokens[home.owner_id], home.pk) for home in created]


def publish_tick(home_ids: list[int]) -> float:
    from devices.live import channels, store

    stamp = time.time()
    values = [
        (
            home_id,
            {"production_w": 1000.0 + home_id % 7, "consumption_w": 800.0, "storage_flow_w": 0.0,
             "net_grid_flow_w": -200.0, "self_sufficiency": 1.0, "ts": stamp,
             "until": stamp + 120},
        )
        for home_id in home_ids
    ]  # fmt: skip
    store.home_stats_write(values)
    store.publish_many([(channels.home_channel(h), v) for h, v in values])
    return stamp


def run_once(
    servers: list[tuple[str, psutil.Process]], population: list[tuple[str, int]],
    args: argparse.Namespace, clients: int, client_procs: int,
) -> dict[str, Any]:  # fmt: skip
    work = [
        (servers[n % len(servers)][0], *population[n % len(population)]) for n in range(clients)
    ]
    home_ids = sorted({home for _, _, home in work})
    processes = [process for _, process in servers]
    rss_before = sum(p.memory_info().rss for p in processes)
    ctx = mp.get_context("spawn")
    pipes, procs = [], []
    for k in range(client_procs):
        parent, child = ctx.Pipe()
        # Handshakes in flight stay few: a server with a backlog of them answers connection_init
        # after its 5 s limit, and the client is closed with 4408.
        connecting = max(1, args.connecting // client_procs)
        proc = ctx.Process(
            target=client_process, args=(work[k::client_procs], args.deflate, connecting, child)
        )
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    started = time.monotonic()
    connected = 0
    for pipe in pipes:
        reply = pipe.recv()
        if reply[0] != "ready":
            raise RuntimeError(reply)
        connected += reply[1]
    connect_s = time.monotonic() - started
    time.sleep(1.0)  # let the server settle (buffers, garbage) before measuring
    rss_connected = sum(p.memory_info().rss for p in processes)
    cpu_before = sum(sum(p.cpu_times()[:2]) for p in processes)
    latencies: list[float] = []
    busy_s = 0.0
    tick_max_ms: list[float] = []
    for _ in range(args.ticks):
        tick_started = time.monotonic()
        publish_tick(home_ids)
        deadline = time.monotonic() + 60
        while True:
            time.sleep(0.05)
            for pipe in pipes:
                pipe.send("count")
            if sum(pipe.recv() for pipe in pipes) >= clients or time.monotonic() > deadline:
                break
        busy_s += time.monotonic() - tick_started
        tick: list[float] = []
        for pipe in pipes:
            pipe.send("report")
            tick.extend(pipe.recv())
        latencies.extend(tick)
        tick_max_ms.append(1000 * max(tick, default=float("nan")))
        time.sleep(0.5)
    cpu_after = sum(sum(p.cpu_times()[:2]) for p in processes)
    rss_after = sum(p.memory_info().rss for p in processes)
    for pipe in pipes:
        pipe.send("close")
        pipe.recv()
    for proc in procs:
        proc.join(timeout=30)
    delivered = len(latencies)
    ms = sorted(1000 * s for s in latencies)
    return {
        "clients": clients,
        "servers": len(servers),
        "connected": connected,
        "homes": len(home_ids),
        "connect_s": connect_s,
        "expected": clients * args.ticks,
        "delivered": delivered,
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": ms[-1] if ms else float("nan"),
        "cpu_us_per_msg": 1e6 * (cpu_after - cpu_before) / max(delivered, 1),
        "server_cpu_share": (cpu_after - cpu_before) / busy_s,
        "tick_max_ms": tick_max_ms,
        "rss_kib_per_conn": (rss_connected - rss_before) / 1024 / clients,
        "rss_after_ticks_mib": rss_after / 2**20,
    }


def procfile_ws() -> str:
    """The WebSocket implementation the Procfile gives uvicorn (``--ws``), as deployed."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        words = command.split()
        if name.strip() == "web" and "--ws" in words:
            return words[words.index("--ws") + 1]
    return "auto"


def report(result: dict[str, Any]) -> str:
    where = "1 process" if result["servers"] == 1 else f"{result['servers']} processes"
    return (
        f"N={result['clients']:>5} on {where} ({result['connected']} connected in "
        f"{result['connect_s']:.1f} s, {result['homes']} homes): "
        f"delivered {result['delivered']}/{result['expected']}; latency p50 "
        f"{result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, max "
        f"{result['max_ms']:.0f} ms; server CPU {result['cpu_us_per_msg']:.0f} us/message "
        f"(busy {100 * result['server_cpu_share']:.0f}% of a core while delivering); "
        f"server RSS {result['rss_kib_per_conn']:.1f} KiB/connection "
        f"(processes {result['rss_after_ticks_mib']:.0f} MiB); slowest delivery per tick: "
        + ", ".join(f"{ms:.0f}" for ms in result["tick_max_ms"])
        + " ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--clients",
        type=int,
        nargs="*",
        default=[1000, 5000],
        help="subscriber counts served by one process",
    )
    parser.add_argument(
        "--spread",
        type=int,
        nargs="*",
        default=[20000],
        help="subscriber counts spread over --web-processes processes",
    )
    parser.add_argument("--web-processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument(
        "--client-procs",
        type=int,
        default=2,
        help="client processes (at least one per 5,000 clients)",
    )
    parser.add_argument(
        "--connecting",
        type=int,
        default=32,
        help="connections being opened at once, over all client processes",
    )
    parser.add_argument("--ws", default=procfile_ws(), help="uvicorn's WebSocket implementation")
    parser.add_argument("--deflate", action="store_true", help="clients offer permessage-deflate")
    args = parser.parse_args()  # fmt: skip
    limit = raise_open_files_limit()
    largest = max([*args.clients, *(n // args.web_processes for n in args.spread)], default=0)
    if limit < largest + 100:
        print(f"warning: open files limited to {limit}")

    database_url = fresh_database("gridtwin_bench_live")
    env = bench_env(database_url, JWT_ACCESS_TOKEN_SECONDS="7200")
    os.environ.update(env)
    manage(env, "migrate", "--noinput", "-v", "0")
    import django

    django.setup()
    population = setup_population(args.users, args.homes)
    uvicorn_args = ("--backlog", "4096", "--ws", args.ws, "--ws-per-message-deflate",
                    "true" if args.deflate else "false")  # fmt: skip
    runs = [(n, 1) for n in args.clients] + [(n, args.web_processes) for n in args.spread]

    with ExitStack() as stack:
        servers: list[tuple[str, psutil.Process]] = []
        for _ in range(max(count for _, count in runs)):
            running = stack.enter_context(uvicorn_process(env, *uvicorn_args))
            url = running.url.replace("http://", "ws://") + "/graphql/"
            servers.append((url, psutil.Process(running.pid)))
        print(
            f"live benchmark: {platform.python_implementation()} {platform.python_version()}, "
            f"{os.cpu_count()} cores, {args.homes} homes of {args.users} users, {args.ticks} "
            f"ticks, uvicorn --ws {args.ws}, "
            f"permessage-deflate {'offered' if args.deflate else 'off'}"
        )
        # warm-up of every process: imports, caches, the hub's connection
        warm = argparse.Namespace(**{**vars(args), "ticks": 1})
        run_once(servers, population, warm, 20 * len(servers), 1)
        for clients, count in runs:
            procs = max(args.client_procs, math.ceil(clients / 5000))
            result = run_once(servers[:count], population, args, clients, procs)
            print(report(result), flush=True)
            time.sleep(2)


if __name__ == "__main__":
    main()
