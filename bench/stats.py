"""`make bench-stats`: energyStats latency and throughput under 64 concurrent connections.

Three servers side by side, each under uvicorn (uvloop + httptools) in the same process layout:

- the floor: ``/floor`` of this module's wrapper answers a constant JSON body of the same size
  straight from ASGI (what the server itself costs);
- the framework line: a minimal Strawberry ASGI app without Django (:mod:`bench.framework`)
  answering the same query with the same HS256 JWT check and one Redis read;
- gridtwin: every other path of the wrapper goes to the real application (``config.asgi``).

A load generator in a second process keeps 64 keep-alive connections busy for ``--seconds`` per
case (in ``--rounds`` slices taken in turn across the cases, so load from elsewhere on the
machine falls on every case alike), each sending the next request as soon as the previous
answer arrives, and prints p50/p99 latency, requests/s, and gridtwin's ratios to the floor and
to the framework. The cases run first with one web process, then with `make run`'s default
(``WEB_CONCURRENCY``, one per CPU): the floor, the framework, ``energyStats`` (the caller's
total) and, with one process, ``energyStats(homeId)`` (adds the ownership check).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import bench_env, fresh_database, manage, percentile, uvicorn_server

DATABASE = "gridtwin_bench_stats"
TOTAL = "{ energyStats { productionW consumptionW netGridFlowW selfSufficiency timestamp stale } }"
BY_HOME = (
    "query($h: ID) { energyStats(homeId: $h) "
    "{ productionW consumptionW netGridFlowW selfSufficiency timestamp stale } }"
)
FLOOR_BODY = json.dumps(
    {
        "data": {
            "energyStats": {
                "productionW": 1234.567,
                "consumptionW": 2345.678,
                "netGridFlowW": 1111.111,
                "selfSufficiency": 0.5,
                "timestamp": "2026-01-01T00:00:00+00:00",
                "stale": False,
            }
        }
    }
).encode()

_django_app: Any = None


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bench's ASGI wrapper: a constant ``/floor`` route, Django for everything else."""
    global _django_app
    if scope["type"] == "http" and scope["path"] == "/floor":
        while (await receive()).get("more_body"):
            pass
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(FLOOR_BODY)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": FLOOR_BODY})
        return
    if _django_app is None:
        from config.asgi import application as django_application

        _django_app = django_application
    await _django_app(scope, receive, send)


# --- Load generator (its own process) ------------------------------------------------------


def _request(host: str, port: int, path: str, token: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(
    host: str, port: int, request: bytes, until: float, warmup_until: float, out: list[float]
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    while True:
        started = time.perf_counter()
        if started > until:
            break
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        payload = await reader.readexactly(length)
        if not head.startswith(b"HTTP/1.1 200") or b'"errors"' in payload:
            errors += 1
        if started >= warmup_until:
            out.append(time.perf_counter() - started)
    writer.close()
    return errors


def _load(args: tuple[str, int, bytes, int, float, float]) -> tuple[list[float], int, float]:
    host, port, request, connections, seconds, warmup = args
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def run() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        begin = time.perf_counter()
        warmup_until = begin + warmup
        until = warmup_until + seconds
        errors = await asyncio.gather(
            *(
                _connection(host, port, request, until, warmup_until, latencies)
                for _ in range(connections)
            )
        )
        return latencies, sum(errors), time.perf_counter() - warmup_until

    return asyncio.run(run())


def _run_load(url: str, path: str, token: str, document: dict[str, Any], seconds: float,
              args: Any) -> tuple[list[float], int, float]:  # fmt: skip
    host, port = url.removeprefix("http://").split(":")
    request = _request(host, int(port), path, token, json.dumps(document).encode())
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        latencies, errors, elapsed = pool.apply(
            _load, ((host, int(port), request, args.connections, seconds, args.warmup),)
        )
    return [value * 1000 for value in latencies], errors, elapsed


def summarize(label: str, ms: list[float], errors: int, elapsed: float) -> dict[str, float]:
    result = {
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "rps": len(ms) / elapsed,
        "errors": float(errors),
    }
    print(
        f"{label:<30} p50 {result['p50']:6.2f} ms  p99 {result['p99']:6.2f} ms  "
        f"{result['rps']:8,.0f} req/s  ({len(ms):,} requests, {errors} errors)",
        flush=True,
    )
    return result


Case = tuple[str, str, str, dict[str, Any]]  # label, server URL, path, document


def measure_interleaved(cases: list[Case], token: str, args: Any) -> dict[str, dict[str, float]]:
    """Each case for ``--seconds`` in all, in ``--rounds`` slices taken in turn (A B C A B C …),
    so that a swing of the machine's load falls on every case alike."""
    slice_s = args.seconds / args.rounds
    totals: dict[str, tuple[list[float], int, float]] = {label: ([], 0, 0.0) for label, *_ in cases}
    for _ in range(args.rounds):
        for label, url, path, document in cases:
            ms, errors, elapsed = _run_load(url, path, token, document, slice_s, args)
            seen, seen_errors, seen_elapsed = totals[label]
            totals[label] = (seen + ms, seen_errors + errors, seen_elapsed + elapsed)
    return {label: summarize(label, *totals[label]) for label, *_ in cases}


SERVER_FLAGS = ("--loop", "uvloop", "--http", "httptools")


def wrapper_server(env: dict[str, str], workers: int = 1) -> contextlib.AbstractContextManager[str]:
    """uvicorn serving this module's wrapper (floor + the project) on a free port."""
    return uvicorn_server(
        env, *SERVER_FLAGS, "--workers", str(workers), app="bench.stats:application"
    )


def framework_server(
    env: dict[str, str], workers: int = 1
) -> contextlib.AbstractContextManager[str]:
    """uvicorn serving the minimal Strawberry app (the framework line) on a free port."""
    return uvicorn_server(
        env, *SERVER_FLAGS, "--workers", str(workers), app="bench.framework:application"
    )


def compare(
    label: str, case: dict[str, float], floor: dict[str, float], framework: dict[str, float]
) -> None:
    print(
        f"{label}: {case['rps']:,.0f} req/s = {case['rps'] / framework['rps']:.2f}x the "
        f"framework's req/s, {floor['rps'] / case['rps']:.1f}x the floor's time per request; "
        f"p99 {case['p99']:.2f} ms (framework {framework['p99']:.2f} ms, floor "
        f"{floor['p99']:.2f} ms)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3, help="slices per case, interleaved")
    args = parser.parse_args()

    # A long tick: the live values stay current through every case.
    env = bench_env(fresh_database(DATABASE), CELERY_TASK_ALWAYS_EAGER="true", TICK_SECONDS="600")
    manage(env, "migrate", "--noinput", "-v", "0")
    os.environ.update(env)
    import django

    django.setup()
    from accounts.tokens import access_token_issue
    from simulators import farm
    from simulators.tasks import tick_run
    from tests.devices.factories import BatteryFactory, HomeFactory, SolarPanelFactory

    home: Any = HomeFactory(latitude=51.5, longitude=-0.12, timezone="Europe/London")
    SolarPanelFactory(home=home)
    BatteryFactory(home=home, level_wh=5000.0)
    token, _ = access_token_issue(user_id=home.owner_id)

    from django.conf import settings

    framework_env = {
        **env,
        "JWT_SIGNING_KEY": settings.JWT_SIGNING_KEY,
        "JWT_ISSUER": settings.JWT_ISSUER,
        "JWT_AUDIENCE": settings.JWT_AUDIENCE,
        "REDIS_STATE_URL": settings.REDIS_STATE_URL,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
    }
    tick_run(tick_at=farm.tick_align(datetime.now(UTC)))
    total_doc = {"query": TOTAL}
    by_home_doc = {"query": BY_HOME, "variables": {"h": str(home.pk)}}
    default_workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    print(
        f"bench-stats: {args.connections} connections, {args.seconds:.0f}s per case in "
        f"{args.rounds} interleaved slices, each after {args.warmup:.0f}s warm-up, uvicorn "
        f"(uvloop, httptools), {os.cpu_count()} CPUs; 1 web process, then {default_workers} "
        "(make run's default)",
        flush=True,
    )
    for workers in sorted({1, default_workers}):
        print(f"-- {workers} web process{'es' if workers > 1 else ''}", flush=True)
        with (
            wrapper_server(env, workers) as url,
            framework_server(framework_env, workers) as framework_url,
        ):
            cases: list[Case] = [
                ("floor (constant JSON)", url, "/floor", total_doc),
                ("framework (strawberry.asgi)", framework_url, "/", total_doc),
                ("gridtwin energyStats (total)", url, "/graphql/", total_doc),
            ]
            if workers == 1:
                cases.append(("gridtwin energyStats(homeId)", url, "/graphql/", by_home_doc))
            results = measure_interleaved(cases, token, args)
        floor = results["floor (constant JSON)"]
        framework = results["framework (strawberry.asgi)"]
        compare(
            f"energyStats (total), {workers} process(es)",
            results["gridtwin energyStats (total)"],
            floor,
            framework,
        )
        if workers == 1:
            compare(
                f"energyStats(homeId), {workers} process(es)",
                results["gridtwin energyStats(homeId)"],
                floor,
                framework,
            )


if __name__ == "__main__":
    main()
