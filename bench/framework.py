"""The framework line of `make bench-stats`: what Strawberry alone answers, without gridtwin.

A minimal Strawberry ASGI app (``strawberry.asgi.GraphQL``, no Django) with the same
``energyStats`` query: the same HS256 JWT check (pyjwt, every registered claim required,
issuer and audience), one Redis GET of the caller's stats through ``redis.asyncio`` (one pool
per process), the JSON value decoded and shaped into the same type. Strawberry's own parser and
validation caches are on, as any deployment would have them. Configured from the environment
the benchmark gives it (``JWT_SIGNING_KEY``, ``REDIS_STATE_URL``, ``REDIS_KEY_PREFIX``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import jwt
import orjson
import redis.asyncio as aioredis
import strawberry
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import Info

SIGNING_KEY = os.environ["JWT_SIGNING_KEY"]
ISSUER = os.environ.get("JWT_ISSUER", "gridtwin")
AUDIENCE = os.environ.get("JWT_AUDIENCE", "gridtwin-api")
PREFIX = os.environ.get("REDIS_KEY_PREFIX", "gridtwin:")
REDIS = aioredis.Redis.from_url(os.environ["REDIS_STATE_URL"])
REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "typ"]


@strawberry.type
class EnergyStats:
    production_w: float | None
    consumption_w: float | None
    net_grid_flow_w: float | None
    self_sufficiency: float | None
    timestamp: datetime | None
    stale: bool


def _user_id(info: Info) -> int:
    header = info.context["request"].headers.get("authorization", "")
    claims = jwt.decode(
        header.removeprefix("Bearer "),
        SIGNING_KEY,
        algorithms=["HS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": REQUIRED},
        leeway=5,
    )
    return int(claims["sub"])


@strawberry.type
class Query:
    @strawberry.field
    async def energy_stats(self, info: Info) -> EnergyStats:
        raw = await REDIS.get(f"{PREFIX}user:{_user_id(info)}:energy_stats")
        value: dict[str, Any] = orjson.loads(raw) if raw else {}
        ts = value.get("ts")
        until = value.get("until")
        return EnergyStats(
            production_w=value.get("production_w"),
            consumption_w=value.get("consumption_w"),
            net_grid_flow_w=value.get("net_grid_flow_w"),
            self_sufficiency=value.get("self_sufficiency"),
            timestamp=datetime.fromtimestamp(ts, tz=UTC) if ts is not None else None,
            stale=until is None or datetime.now(tz=UTC).timestamp() > until,
        )


schema = strawberry.Schema(query=Query, extensions=[ParserCache, ValidationCache])
application = GraphQL(schema, graphql_ide=None)
