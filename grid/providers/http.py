"""
Fetching a provider's answer over HTTP: bounded in time, size and retries, and never leaking
an API key.

``http_get`` makes one GET with a timeout, reads at most ``max_bytes`` of the body, and tries
again after a connection failure, a timeout, a 429 or a 5xx, up to ``retries`` more times,
waiting ``backoff_s · 2^attempt`` (at most ``backoff_max_s``) or what ``Retry-After`` asks,
whichever is longer; a ``Retry-After`` beyond ``backoff_max_s`` ends the attempts at once.
Everything else (another status, a redirect, a body too large, a broken connection) raises
``ProviderError`` with its reason straight away.

Secrets: an API key goes in a header or a query parameter added at send time, and every log
line and error names the URL as ``scheme://host:port/path`` only (no user, password or query),
so neither the key nor anything else in a query string is ever written down.
"""

from __future__ import annotations

import logging
import math
import os
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from grid.providers.base import ProviderError, Reason

logger = logging.getLogger(__name__)

#: Bounds of the settings a provider's spec may give (name: (low, high, default)).
_LIMITS: Mapping[str, tuple[float, float, float]] = {
    "timeout_s": (0.01, 120.0, 10.0),
    "retries": (0, 10, 2),
    "backoff_s": (0.0, 60.0, 0.5),
    "backoff_max_s": (0.0, 600.0, 30.0),
    "max_bytes": (1, 64 * 1024 * 1024, 4 * 1024 * 1024),
}


class ProviderSpecError(ValueError):
    """A provider's configuration is not usable (named setting, never its secret value)."""


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """How one provider talks HTTP."""

    timeout_s: float = 10.0
    """Deadline of one request: connecting, and the whole body arriving. [s]"""
    retries: int = 2
    """Further attempts after a connection failure, a timeout, a 429 or a 5xx."""
    backoff_s: float = 0.5
    """Wait before the first retry, doubled for each next one. [s]"""
    backoff_max_s: float = 30.0
    """The longest wait between attempts, a ``Retry-After`` included. [s]"""
    max_bytes: int = 4 * 1024 * 1024
    """The largest body read (after decompression). [bytes]"""
    api_key: str | None = field(default=None, repr=False)
    api_key_header: str | None = None
    """Header the API key goes in, e.g. ``X-API-Key``."""
    api_key_param: str | None = None
    """Query parameter the API key goes in, e.g. ``apikey``."""

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> HttpOptions:
        """Options from a provider's spec; ``api_key`` or ``api_key_env`` (the name of an
        environment variable holding it) with ``api_key_header`` or ``api_key_param``."""
        values: dict[str, Any] = {}
        for name, (low, high, default) in _LIMITS.items():
            value = spec.get(name, default)
            integral = name in ("retries", "max_bytes")
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (integral and not float(value).is_integer())
                or not math.isfinite(value)
                or not low <= value <= high
            ):
                raise ProviderSpecError(f"{name} must be a number within {low:g}..{high:g}")
            values[name] = int(value) if integral else float(value)
        api_key = spec.get("api_key")
        api_key_env = spec.get("api_key_env")
        if api_key_env is not None:
            if not isinstance(api_key_env, str) or not api_key_env:
                raise ProviderSpecError("api_key_env must name an environment variable")
            api_key = os.environ.get(api_key_env)
            if not api_key:
                raise ProviderSpecError(f"the environment variable {api_key_env} is not set")
        header = spec.get("api_key_header")
        param = spec.get("api_key_param")
        for name, value in (("api_key_header", header), ("api_key_param", param)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ProviderSpecError(f"{name} must be a non-empty name")
        if api_key is not None:
            if not isinstance(api_key, str) or not api_key:
                raise ProviderSpecError("api_key must be a non-empty string")
            if (header is None) == (param is None):
                raise ProviderSpecError(
                    "an API key needs exactly one of api_key_header and api_key_param"
                )
        elif header is not None or param is not None:
            raise ProviderSpecError("api_key_header/api_key_param given without an API key")
        return cls(**values, api_key=api_key, api_key_header=header, api_key_param=param)


def url_public(url: str) -> str:
    """``url`` as it may be logged: scheme, host, port and path; no user, password or query."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an invalid URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def url_template_check(template: object, allowed: frozenset[str]) -> str:
    """``template`` if it is an http(s) URL whose placeholders are all in ``allowed``."""
    if not isinstance(template, str) or not template:
        raise ProviderSpecError("url must be a non-empty string")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise ProviderSpecError(f"url is not a valid template: {error}") from None
    unknown = names - allowed
    if unknown:
        raise ProviderSpecError(
            f"url has unknown placeholders {sorted(unknown)}; known: {sorted(allowed)}"
        )
    sample = url_render(template, dict.fromkeys(names, "x"))
    parts = urlsplit(sample)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderSpecError("url must be an http:// or https:// URL with a host")
    return template


def url_render(template: str, values: Mapping[str, object]) -> str:
    """``template`` with each ``{name}`` replaced by its value, percent-encoded (``:`` kept)."""
    return template.format_map(
        {name: quote(str(value), safe=":") for name, value in values.items()}
    )


class _Retry(Exception):
    """A failure worth another attempt."""

    def __init__(self, error: ProviderError, retry_after_s: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after_s = retry_after_s


def http_get(url: str, *, options: HttpOptions) -> bytes:
    """The body of a GET of ``url`` (status 2xx), or ``ProviderError``."""
    public = url_public(url)
    headers = {
        "Accept": "application/json, text/csv;q=0.9, */*;q=0.1",
        # Public APIs ask callers to say who they are.
        "User-Agent": "gridtwin (grid signals)",
    }
    if options.api_key is not None:
        if options.api_key_header is not None:
            headers[options.api_key_header] = options.api_key
        elif options.api_key_param is not None:
            # Added to the query by hand: httpx's ``params`` replaces the URL's own query.
            parts = urlsplit(url)
            pair = urlencode({options.api_key_param: options.api_key})
            query = f"{parts.query}&{pair}" if parts.query else pair
            url = urlunsplit(parts._replace(query=query))
    attempts = options.retries + 1
    timeout = httpx.Timeout(options.timeout_s)
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for attempt in range(attempts):
            try:
                return _get_once(client, url, public, headers, options)
            except _Retry as failure:
                if attempt + 1 >= attempts:
                    raise failure.error from None
                wait_s = min(options.backoff_s * 2**attempt, options.backoff_max_s)
                if failure.retry_after_s is not None:
                    if failure.retry_after_s > options.backoff_max_s:
                        logger.warning(
                            "grid provider %s: %s, asked to wait %.0f s (more than %.0f s): "
                            "giving up",
                            public,
                            failure.error,
                            failure.retry_after_s,
                            options.backoff_max_s,
                        )
                        raise failure.error from None
                    wait_s = max(wait_s, failure.retry_after_s)
                logger.warning(
                    "grid provider %s: %s (attempt %d of %d); trying again in %.2f s",
                    public,
                    failure.error,
                    attempt + 1,
                    attempts,
                    wait_s,
                )
                time.sleep(wait_s)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _get_once(
    client: httpx.Client,
    url: str,
    public: str,
    headers: Mapping[str, str],
    options: HttpOptions,
) -> bytes:
    deadline = time.monotonic() + options.timeout_s
    timed_out = ProviderError(
        f"{public}: no complete answer within {options.timeout_s:g} s", reason=Reason.TIMEOUT
    )
    try:
        with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 429 or 500 <= status <= 599:
                raise _Retry(
                    ProviderError(f"{public} answered HTTP {status}", reason=Reason.HTTP_STATUS),
                    _retry_after_s(response.headers.get("Retry-After")),
                )
            if not 200 <= status <= 299:
                raise ProviderError(f"{public} answered HTTP {status}", reason=Reason.HTTP_STATUS)
            too_large = ProviderError(
                f"{public}: the answer is larger than {options.max_bytes} bytes",
                reason=Reason.TOO_LARGE,
            )
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > options.max_bytes:
                raise too_large
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > options.max_bytes:
                    raise too_large
                if time.monotonic() > deadline:
                    raise _Retry(timed_out)
            return bytes(body)
    except httpx.TimeoutException:
        raise _Retry(timed_out) from None
    except httpx.ConnectError:
        raise _Retry(
            ProviderError(f"{public}: cannot connect", reason=Reason.UNREACHABLE)
        ) from None
    except httpx.DecodingError:
        raise ProviderError(
            f"{public}: the answer's content encoding is broken", reason=Reason.MALFORMED
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        # The message of an httpx error may quote the URL with its query: name the class only.
        raise ProviderError(
            f"{public}: the request failed ({type(error).__name__})", reason=Reason.UNREACHABLE
        ) from None


def _retry_after_s(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86_400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
