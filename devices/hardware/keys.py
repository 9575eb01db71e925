"""Device API keys: issued once, stored as prefix + keyed hash, checked with a cache."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from devices import services
from devices.hardware.common import (
    DEFAULT_INTERVAL_S,
    KEY_CACHE_S,
    KEY_SCHEME,
    PREFIX_LENGTH,
    safe_publish,
)
from devices.hardware.common import invalid as _invalid
from devices.live import channels, store
from devices.models import (
    Device,
    DeviceSource,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeviceAuth:
    """What ingest needs to know about an authenticated device."""

    device_id: int
    owner_id: int
    source: str
    status: str
    interval_s: int


def _key_secret() -> bytes:
    return str(settings.DEVICE_KEY_SECRET or settings.SECRET_KEY).encode()


def key_hash(key: str) -> str:
    """HMAC-SHA256 of the key under the server secret, hex."""
    return hmac.new(_key_secret(), key.encode(), hashlib.sha256).hexdigest()


def key_prefix(key: str) -> str | None:
    """The lookup prefix of a well-formed key (``gt_<12 hex>_<secret>``), else None."""
    if not key.startswith(KEY_SCHEME) or len(key) < len(KEY_SCHEME) + PREFIX_LENGTH + 2:
        return None
    if len(key) > 200 or key[len(KEY_SCHEME) + PREFIX_LENGTH] != "_":
        return None
    return key[len(KEY_SCHEME) : len(KEY_SCHEME) + PREFIX_LENGTH]


@dataclass(frozen=True, slots=True)
class RotatedKey:
    device_id: int
    key: str
    prefix: str


def device_api_key_rotate(*, user_id: int, device_id: int | str) -> RotatedKey:
    """Issue a new key for one of the user's physical devices; the old one stops working now.

    The key is returned once; only its prefix and HMAC are kept.
    """
    for _ in range(3):
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        key = f"{KEY_SCHEME}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                device = services._device_for_update(user_id=user_id, device_id=device_id)
                old_prefix = device.api_key_prefix
                if device.source != DeviceSource.PHYSICAL:
                    raise _invalid(
                        "device_id", "Only physical devices have API keys.", "not_physical"
                    )
                device.api_key_prefix = prefix
                device.api_key_hash = key_hash(key)
                device.save(update_fields=["api_key_prefix", "api_key_hash", "updated_at"])
        except IntegrityError:  # prefix collision: draw again
            continue
        if old_prefix:
            store.device_key_revoke(old_prefix, expire_s=2 * KEY_CACHE_S)
        safe_publish(channels.device_keys_channel(), {"device_id": device.pk})
        return RotatedKey(device_id=device.pk, key=key, prefix=prefix)
    raise RuntimeError("Could not draw a unique key prefix.")


def device_authenticate(*, key: str | None) -> DeviceAuth | None:
    """The device a key belongs to, or None. Compares hashes in constant time.

    Checks are cached in Redis for ``KEY_CACHE_S`` by prefix; rotating a key revokes the old
    prefix's entry at once.
    """
    if not key:
        return None
    prefix = key_prefix(key)
    computed = key_hash(key)
    if prefix is None:
        return None
    try:
        cached = store.device_key_get(prefix)
    except Exception:  # Redis trouble: ask PostgreSQL
        logger.warning("device key cache unavailable", exc_info=True)
        cached = None
    if cached is not None:
        if cached.get("revoked") or not hmac.compare_digest(str(cached["hash"]), computed):
            return None
        return DeviceAuth(
            device_id=int(cached["device_id"]),
            owner_id=int(cached["owner_id"]),
            source=str(cached["source"]),
            status=str(cached["status"]),
            interval_s=int(cached["interval_s"]),
        )
    row = (
        Device.objects.filter(api_key_prefix=prefix)
        .values_list(
            "id",
            "home__owner_id",
            "source",
            "status",
            "energymeter__reporting_interval_s",
            "api_key_hash",
        )
        .first()
    )
    if row is None or not row[5] or not hmac.compare_digest(row[5], computed):
        return None
    device = DeviceAuth(
        device_id=row[0],
        owner_id=row[1],
        source=row[2],
        status=row[3],
        interval_s=row[4] or DEFAULT_INTERVAL_S,
    )
    try:
        store.device_key_cache(
            prefix,
            {
                "hash": row[5],
                "device_id": device.device_id,
                "owner_id": device.owner_id,
                "source": device.source,
                "status": device.status,
                "interval_s": device.interval_s,
            },
            expire_s=KEY_CACHE_S,
        )
    except Exception:
        logger.warning("device key cache unavailable", exc_info=True)
    return device


def device_key_forget(*, key: str) -> None:
    """Drop a key's cached check (its device is gone)."""
    prefix = key_prefix(key)
    if prefix:
        store.device_key_revoke(prefix, expire_s=KEY_CACHE_S)


# ---------------------------------------------------------------------------------------------
# Telemetry
# ---------------------------------------------------------------------------------------------
