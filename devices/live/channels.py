"""Pub/sub channel names: the addresses subscribers follow (messages are JSON values).

Channels are server-wide (they ignore the Redis database number), so environments sharing one
Redis server keep apart by ``LIVE_CHANNEL_PREFIX``.

``home:{id}``    the home's stats, once per tick; also the cue for its devices' new states
``device:{id}``  a device's state changed outside a tick (telemetry, an on-demand step)
``user:{id}``    the user's total
``alerts:{id}``  the user's alert events
``device-keys``  ids of devices whose API key changed (caches of key checks drop them)
"""

from __future__ import annotations

from django.conf import settings

CHANNEL_PREFIX: str = settings.LIVE_CHANNEL_PREFIX


def home_channel(home_id: int) -> str:
    return f"{CHANNEL_PREFIX}home:{home_id}"


def device_channel(device_id: int) -> str:
    return f"{CHANNEL_PREFIX}device:{device_id}"


def user_channel(user_id: int) -> str:
    return f"{CHANNEL_PREFIX}user:{user_id}"


def alerts_channel(user_id: int) -> str:
    return f"{CHANNEL_PREFIX}alerts:{user_id}"


def device_keys_channel() -> str:
    return f"{CHANNEL_PREFIX}device-keys"
