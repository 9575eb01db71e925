"""Failed-login limits in Redis that concurrency cannot overrun.

Checking a counter, verifying the password and only then counting the failure lets every
request that arrives during the check slip through (40 parallel guesses against a limit of 5
had 25 passwords checked). Here each attempt first takes a slot with one atomic script: the
counters of its username and its address are incremented together, and the attempt goes on to
the password check only if both are still within the limit; otherwise its increments are taken
back and it is refused. A failed check keeps its slot (the failure counts); a successful one
gives it back. So within a window at most ``limit`` passwords are checked per username and per
address, however many requests arrive at once.

The counters live in the cache database (``REDIS_STATE_URL``) under the cache's key prefix;
each expires one window after the first attempt that created it (a fixed window).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_PERIOD_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Take a slot on every counter, or none: KEYS are the counters, ARGV the limit and the window.
# Returns 0 when the attempt may go on, else the seconds until the fullest counter resets.
_ACQUIRE = """
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local wait_ms = 0
for _, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, window_ms)
  end
  if count > limit then
    wait_ms = math.max(wait_ms, redis.call('PTTL', key))
  end
end
if wait_ms > 0 then
  for _, key in ipairs(KEYS) do
    redis.call('DECR', key)
  end
end
return wait_ms
"""

# Give a slot back, on counters that still exist (one that expired meanwhile stays gone: a
# DECR would recreate it without a TTL).
_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('DECR', key)
  end
end
return 0
"""


class LoginThrottled(Exception):
    """Too many failed logins for this username or address."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Too many failed login attempts. Try again in {retry_after_s} s.")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Rate:
    limit: int
    window_s: int


def rate_parse(value: str) -> Rate:
    """``"5/m"``, ``"10/5m"``, ``"100/h"``: attempts per window of seconds, minutes, hours, days."""
    match = _RATE.match(value)
    if match is None or int(match.group(1)) < 1:
        raise ImproperlyConfigured(
            f"LOGIN_FAILURE_RATE must read like '5/m' or '10/5m' (s, m, h, d), not {value!r}."
        )
    count, multiplier, unit = match.groups()
    return Rate(limit=int(count), window_s=int(multiplier or 1) * _PERIOD_S[unit])


@lru_cache(maxsize=4)
def _pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url)


def _client() -> redis.Redis:
    return redis.Redis(connection_pool=_pool(settings.REDIS_STATE_URL))


def address_bucket(address: str) -> str:
    """The bucket of an address: itself for IPv4, its /64 for IPv6 (one host holds a /64)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
    return str(parsed)


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return cache.make_key(f"login-failures:{kind}:{digest}")


def failure_keys(*, username: str, client_ip: str) -> list[str]:
    """The counters an attempt takes a slot on: its username and its address."""
    return [_key("user", username.casefold()), _key("ip", address_bucket(client_ip))]


def slot_acquire(*, username: str, client_ip: str) -> list[str]:
    """Take a slot for one attempt, or raise :class:`LoginThrottled`; returns the slot's keys."""
    rate = rate_parse(settings.LOGIN_FAILURE_RATE)
    keys = failure_keys(username=username, client_ip=client_ip)
    wait_ms = int(_client().eval(_ACQUIRE, len(keys), *keys, rate.limit, rate.window_s * 1000))
    if wait_ms > 0:
        raise LoginThrottled(retry_after_s=max(1, math.ceil(wait_ms / 1000)))
    return keys


def slot_release(keys: list[str]) -> None:
    """Give back the slot of an attempt that turned out not to be a failure."""
    _client().eval(_RELEASE, len(keys), *keys)
