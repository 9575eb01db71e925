"""Pub/sub channel names: the addresses subscribers follow (messages are JSON values).

Channels are server-wide (they ignore the Redis database number): like every key, each name
starts with ``REDIS_KEY_PREFIX``, so deployments sharing one Redis server keep apart.

``home:{id}``    the home's stats, once per tick; also the cue for its devices' new states
``device:{id}``  a device's state changed outside a tick (telemetry, an on-demand step)
``user:{id}``    the user's total
``alerts:{id}``  the user's alert events
``device-keys``  ids of devices whose API key changed (caches of key checks drop them)
"""

from __future__ import annotations

from devices.live.keys import key_prefix


def home_channel(home_id: int) -> str:
    return f"{key_prefix()}home:{home_id}"


def device_channel(device_id: int | str) -> str:
    """A device's channel (``"*"``: the pattern of every device's, for PSUBSCRIBE)."""
    return f"{key_prefix()}device:{device_id}"


def user_channel(user_id: int) -> str:
    return f"{key_prefix()}user:{user_id}"


def alerts_channel(user_id: int) -> str:
    return f"{key_prefix()}alerts:{user_id}"


def device_keys_channel() -> str:
    return f"{key_prefix()}device-keys"
