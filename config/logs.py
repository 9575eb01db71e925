"""Logging that never writes a secret: device API keys, JWTs, bearer credentials, passwords.

:class:`RedactSecrets` is a filter on every handler. It redacts each record (message and
arguments, exception and stack text) through :func:`redact` in the record itself, so whatever
formats the record afterwards sees only redacted text.
:func:`configure` is Django's ``LOGGING_CONFIG``: it applies ``LOGGING`` and then puts the
filter on every handler the process has, including those Django (``django.server``), uvicorn
and Celery install outside ``LOGGING`` (Celery calls :func:`redact_handlers` after its own
setup).
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Names whose value is a secret, in JSON, Python reprs, GraphQL arguments, URL queries and
# headers: `"password": "…"`, `password='…'`, `refreshToken: "…"`, `?token=…`,
# `X-API-Key: …`, `'HTTP_COOKIE': '…'`. A name only has to contain one of these words.
_SECRET_NAME = (
    r"(?:passw(?:or)?d|passphrase|secret|token|apikey|authorization|cookie|sessionid"
    r"|credential|(?<![A-Za-z0-9])key|(?<![A-Za-z0-9])pwd)[A-Za-z0-9_-]*"
)
_NAMED_VALUE = re.compile(
    rf"""(?P<name>{_SECRET_NAME})(?P<close>\\?["']?)(?P<sep>\s*[:=]\s*)
    (?P<value>(?!\[REDACTED\])(?:
        \\"(?!\[REDACTED\])(?:[^\\]|\\[^"])*?(?:\\"|$)  # \"…\"  (JSON in a quoted string)
      | "(?!\[REDACTED\])(?:[^"\\]|\\.)*(?:"|$)        # "…"    (up to the end if cut off)
      | '(?!\[REDACTED\])(?:[^'\\]|\\.)*(?:'|$)        # '…'
      | (?:(?:bearer|basic)\s+)?[^\s&,;'"\\}}\])]+  # bare, as in a URL query or a header
    ))""",
    re.IGNORECASE | re.VERBOSE,
)
# A device API key, `gt_<12 hex prefix>_<secret>` (devices/hardware/keys.py): the public
# prefix stays readable, the rest goes; anything else after `gt_` goes whole.
_DEVICE_KEY = re.compile(
    r"(?<![A-Za-z0-9])gt_(?:(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]*)|[A-Za-z0-9_-]+)"
)
# A JWT: base64url JSON header and payload (both start `{"`, hence `eyJ`), then a signature.
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?")
_AUTH_SCHEME = re.compile(r"\b(?P<scheme>bearer|basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# The password of a URL's user information: redis://:pw@host, mqtt://user:pw@host.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/?#@]*):(?P<password>[^\s/?#]*)@", re.IGNORECASE
)


def _named_value(match: re.Match[str]) -> str:
    value = match["value"]
    if value.startswith('\\"'):
        quote = '\\"'
    elif value[:1] in ("'", '"'):
        quote = value[0]
    else:
        quote = ""
    closing = quote if quote and len(value) > len(quote) and value.endswith(quote) else ""
    return f"{match['name']}{match['close']}{match['sep']}{quote}{REDACTED}{closing}"


def _device_key(match: re.Match[str]) -> str:
    if match["prefix"] is None:
        return f"gt_{REDACTED}"
    if not match["secret"]:  # the public prefix alone (or already redacted)
        return match[0]
    return f"gt_{match['prefix']}_{REDACTED}"


# Each pattern runs only on text holding one of its words (most log lines hold none; a
# substring test costs a fraction of a regular expression scan).
_NAME_WORDS = ("pass", "secret", "token", "key", "auth", "cookie", "session", "credential", "pwd")


def redact(text: str) -> str:
    """``text`` with every secret it holds replaced by ``[REDACTED]``."""
    lowered = text.lower()
    if any(word in lowered for word in _NAME_WORDS):
        text = _NAMED_VALUE.sub(_named_value, text)
    if "gt_" in text:
        text = _DEVICE_KEY.sub(_device_key, text)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if "bearer" in lowered or "basic" in lowered:
        text = _AUTH_SCHEME.sub(lambda m: f"{m['scheme']} {REDACTED}", text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{REDACTED}@", text)
    return text


_RENDER = logging.Formatter()


def _redacted_arg(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes | bytearray):  # a payload logged with %r: keep it bytes
        return type(value)(redact(bytes(value).decode("latin-1")).encode("latin-1"))
    return value


def _redacted_args(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(_redacted_arg(value) for value in args)
    if isinstance(args, Mapping):
        return {name: _redacted_arg(value) for name, value in args.items()}
    return None


class RedactSecrets(logging.Filter):
    """Redacts a record's message, arguments, exception and stack, in the record itself.

    A record holding a secret keeps its format and arguments when redacting the arguments one
    by one clears it (formatters such as uvicorn's access log read the arguments); otherwise
    its message becomes the redacted text and the arguments go. The exception object goes too
    (its redacted text stays): a formatter rendering it again would bring the secret back.
    Every handler and formatter after this filter sees the redacted record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "secrets_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, redacted
            message = f"{record.msg!s} {record.args!r}"
        redacted = redact(message)
        if redacted != message:
            self._redact_message(record, redacted)
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _RENDER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        setattr(record, "secrets_redacted", True)  # noqa: B010 (not a LogRecord field)
        return True

    @staticmethod
    def _redact_message(record: logging.LogRecord, redacted: str) -> None:
        args = _redacted_args(record.args) if isinstance(record.msg, str) else None
        if args:
            try:
                rendered = record.msg % args
            except Exception:
                rendered = None
            if rendered is not None and redact(rendered) == rendered:
                record.args = args
                return
        record.msg = redacted
        record.args = None


def _loggers() -> list[logging.Logger]:
    found = [logging.getLogger()]
    found += [
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]
    return found


def redact_handlers() -> None:
    """Put :class:`RedactSecrets` on every handler of every logger that lacks it."""
    for logger in _loggers():
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())


def configure(config: dict[str, Any]) -> None:
    """Django's ``LOGGING_CONFIG``: apply ``LOGGING``, then redact on every handler."""
    logging.config.dictConfig(config)
    redact_handlers()
