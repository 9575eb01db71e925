"""HTTP endpoints for devices, authenticated by ``X-API-Key``.

``POST /api/v1/telemetry``            one reading or ``{"readings": [...]}`` (its ASGI endpoint
                                      is :mod:`devices.ingest.asgi`, ahead of Django)
``GET  /api/v1/commands``             commands waiting for this device (marks them sent)
``POST /api/v1/commands/{id}/ack``    ``{"status": "acknowledged" | "failed", "result": {...}}``

Described for clients in ``docs/openapi.yaml`` (served at ``GET /api/v1/openapi.json``).

Answers: 201 stored, 400 invalid (nothing stored), 401 bad key, 403 not a physical device,
413 body or batch too large, 429 over the per-device rate (``Retry-After``).
"""

from __future__ import annotations

import contextvars
import logging as _logging
import threading
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

from devices import hardware
from devices.hardware import DeviceAuth
from devices.ingest.validation import (
    InvalidTelemetry,
    TooLarge,
    parse_json,
    readings_from_body,
)
from monitoring import logs, metrics

logger = _logging.getLogger(__name__)
BAD_KEY = "Invalid or missing API key."
# The work (database, Redis) runs in a thread pool so requests overlap; Django's default for sync
# code under ASGI is one shared thread. Tests that share the test transaction set this to True.
THREAD_SENSITIVE = False


_worker = threading.local()


def _in_worker(fn: Any, *args: Any) -> JsonResponse:
    # Each pool thread keeps one context of its own, so Django's per-context handles (the
    # cache the rate limit uses, with its Redis pool) live as long as the thread instead of
    # being rebuilt, with a new Redis connection, for every request.
    context = getattr(_worker, "context", None)
    if context is None:
        context = _worker.context = contextvars.Context()
    request_id = logs.request_id()  # the request's, carried into the thread's own context
    response: JsonResponse = context.run(_with_connections, request_id, fn, *args)
    return response


def _with_connections(request_id: str, fn: Any, *args: Any) -> JsonResponse:
    # What Django does around a request, for the pool thread's own connection (CONN_MAX_AGE).
    logs.request_id_set(request_id)
    close_old_connections()
    try:
        response: JsonResponse = fn(*args)
        return response
    finally:
        close_old_connections()


async def _run(fn: Any, *args: Any) -> JsonResponse:
    if THREAD_SENSITIVE:
        response: JsonResponse = await sync_to_async(fn, thread_sensitive=True)(*args)
        return response
    return await sync_to_async(_in_worker, thread_sensitive=False)(fn, *args)  # type: ignore[no-any-return]


def _refused(reason: str, status: int, message: str, **extra: Any) -> JsonResponse:
    metrics.telemetry_refused(transport="http", reason=reason)
    return _error(status, message, **extra)


def _error(status: int, message: str, **extra: Any) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    return response


def method_not_allowed(*allowed: str) -> JsonResponse:
    """405, naming the methods the endpoint takes (``Allow``, as HTTP requires)."""
    response = _error(405, f"Use {' or '.join(allowed)}.")
    response["Allow"] = ", ".join(allowed)
    return response


def _too_big(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return length > settings.TELEMETRY_MAX_BODY_BYTES


def _throttled(device: DeviceAuth) -> JsonResponse | None:
    usage = get_usage(
        None,
        group="telemetry",
        key=lambda _group, _request: str(device.device_id),
        rate=settings.TELEMETRY_RATE,
        increment=True,
    )
    if usage and usage["should_limit"]:
        response = _refused("rate_limited", 429, "Too many requests for this device; slow down.")
        response["Retry-After"] = str(max(1, int(usage["time_left"])))
        return response
    return None


def _telemetry(key: str | None, raw: bytes) -> JsonResponse:
    device = hardware.device_authenticate(key=key)
    if device is None:
        return _refused("bad_key", 401, BAD_KEY)
    if (throttled := _throttled(device)) is not None:
        return throttled
    now = hardware.now_utc()
    try:
        readings = readings_from_body(
            parse_json(raw),
            now=now,
            max_batch=settings.TELEMETRY_MAX_BATCH,
            skew_s=settings.TELEMETRY_CLOCK_SKEW_S,
            max_age_s=settings.TELEMETRY_MAX_AGE_S,
        )
    except InvalidTelemetry as exc:
        return _refused("invalid", 400, "Invalid telemetry; nothing was stored.", errors=exc.errors)
    except TooLarge as exc:
        return _refused("too_large", 413, str(exc))
    try:
        result = hardware.telemetry_ingest(device=device, readings=readings, received_at=now)
    except hardware.NotPhysical:
        return _refused("not_physical", 403, "Only physical devices accept telemetry.")
    except hardware.DeviceGone:
        hardware.device_key_forget(key=key or "")
        return _refused("device_gone", 401, BAD_KEY)
    except RedisError:
        # The readings are stored; their live values and alerts are not. The device re-sends
        # the same readings (idempotent: duplicates are not stored twice) and completes them.
        logger.warning("telemetry of device %s: live update failed", device.device_id)
        return _refused(
            "live_unavailable", 503, "Readings stored, but the live update failed: send them again."
        )
    metrics.readings_ingested(transport="http", count=result.accepted)
    metrics.readings_stored(transport="http", count=len(result.stored))
    if result.flush_due:
        hardware.seen_flush()
    return JsonResponse(result.as_json(), status=201)


def body_too_large() -> JsonResponse:
    limit = settings.TELEMETRY_MAX_BODY_BYTES
    return _refused("too_large", 413, f"Body over {limit} bytes.")


async def telemetry_answer(key: str | None, raw: bytes) -> JsonResponse:
    """The answer to ``POST /api/v1/telemetry`` with this key and body (read within the limit;
    served by :mod:`devices.ingest.asgi`): all the work in one call on the ingest threads."""
    return await _run(_telemetry, key, raw)


def _commands(key: str | None) -> JsonResponse:
    device = hardware.device_authenticate(key=key)
    if device is None:
        return _error(401, BAD_KEY)
    commands = hardware.commands_poll(device=device)
    hardware.device_seen(device=device)  # a poll is a sign of life
    return JsonResponse({"commands": commands})


@csrf_exempt
async def commands(request: HttpRequest) -> JsonResponse:
    if request.method != "GET":  # not HEAD either: a poll marks the commands sent
        return method_not_allowed("GET")
    return await _run(_commands, request.headers.get("X-API-Key"))


def _command_ack(key: str | None, command_id: str, raw: bytes) -> JsonResponse:
    device = hardware.device_authenticate(key=key)
    if device is None:
        return _error(401, BAD_KEY)
    try:
        body = parse_json(raw)
    except InvalidTelemetry as exc:
        return _error(400, "Malformed JSON.", errors=exc.errors)
    if not isinstance(body, dict) or set(body) - {"status", "result", "id"}:
        return _error(400, 'Expected {"status": ..., "result": {...}}.')
    try:
        cmd = hardware.command_ack(
            device_id=device.device_id,
            command_id=command_id,
            status=body.get("status", ""),
            result=body.get("result"),
        )
    except ValidationError as exc:
        return _error(400, "Invalid acknowledgement.", errors=exc.message_dict)
    except hardware.CommandNotFound:
        return _error(404, "No such command for this device.")
    except hardware.CommandClosed as exc:
        return _error(410 if exc.status == "expired" else 409, str(exc))
    return JsonResponse({"id": str(cmd.pk), "status": cmd.status})


@csrf_exempt
async def command_ack(request: HttpRequest, command_id: str) -> JsonResponse:
    if request.method != "POST":
        return method_not_allowed("POST")
    if _too_big(request):
        return _error(413, "Body too large.")
    return await _run(_command_ack, request.headers.get("X-API-Key"), command_id, request.body)


async def unknown(request: HttpRequest) -> JsonResponse:
    """Any other path under the device API: a JSON answer like every other, not an HTML page."""
    return _error(404, "No such endpoint; the API is described at /api/v1/openapi.json.")
