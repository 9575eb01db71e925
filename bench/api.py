"""`make bench-api`: create 10,000 devices through the GraphQL API, then page through them.

Against a real uvicorn server and a fresh PostgreSQL database; one client with keep-alive,
requests one after another, so the figures are per-request latency on an idle server.
Prints p50/p99 of ``createSolarPanel`` and of ``devices(first: 100)``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import httpx

from bench.common import bench_env, fresh_database, manage, summary_ms, uvicorn_server

LOGIN = 'mutation { loginUser(username: "demo", password: "gridtwin-demo") { accessToken } }'
HOMES = "{ homes { id } }"
CREATE = """
mutation($input: SolarPanelInput!) {
  createSolarPanel(input: $input) {
    ... on SolarPanel { id }
    ... on OperationInfo { messages { field message } }
  }
}"""
PAGE = """
query($after: String) {
  devices(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { __typename id name kind status
      ... on SolarPanel { ratedPowerW tiltDeg azimuthDeg } } }
  }
}"""


def post(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = client.post("/graphql/", json={"query": query, "variables": variables or {}})
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=10_000)
    args = parser.parse_args()

    database_url = fresh_database("gridtwin_bench_api")
    env = bench_env(database_url, CELERY_TASK_ALWAYS_EAGER="false")
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "seed_demo")
    with uvicorn_server(env) as url, httpx.Client(base_url=url, timeout=30) as client:
        token = post(client, LOGIN)["loginUser"]["accessToken"]
        client.headers["Authorization"] = f"Bearer {token}"
        home_id = post(client, HOMES)["homes"][0]["id"]
        for _ in range(50):  # warm-up: connection, parser and validation caches
            post(client, PAGE)
        creates = []
        for n in range(args.devices):
            variables = {"input": {"homeId": home_id, "name": f"panel {n}",
                                   "panelAreaM2": 8.0, "ratedPowerW": 1600.0}}  # fmt: skip
            started = time.perf_counter()
            data = post(client, CREATE, variables)
            creates.append(time.perf_counter() - started)
            if "id" not in data["createSolarPanel"]:
                raise RuntimeError(data)
        pages = []
        seen = 0
        after = None
        while True:
            started = time.perf_counter()
            page = post(client, PAGE, {"after": after})["devices"]
            pages.append(time.perf_counter() - started)
            seen += len(page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    print(f"devices created: {len(creates)}, paged through: {seen} in {len(pages)} pages")
    print(summary_ms("createSolarPanel", creates))
    print(summary_ms("devices(first: 100)", pages))


if __name__ == "__main__":
    main()
