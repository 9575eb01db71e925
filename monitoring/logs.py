"""Log lines that name their request, optionally as JSON (``LOG_FORMAT=json``).

The web process gives every HTTP request an id: the caller's ``X-Request-ID`` when it is a
plain token (letters, digits, ``._:-``, at most 128 characters), else a new random one. The id
lives in a context variable for the whole request, goes back in the response's
``X-Request-ID``, and :class:`RequestIdFilter` stamps it on every log record made meanwhile
(``-`` outside a request). :class:`JsonFormatter` writes one JSON object per line with fixed
fields only: nothing attached to a record by other code is copied into the line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

REQUEST_ID_HEADER = "X-Request-ID"
NO_REQUEST = "-"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "gridtwin_request_id", default=NO_REQUEST
)


def request_id_for(offered: str | None) -> str:
    """The id of a request: the caller's, when it is a plain token, else a new one."""
    if offered and _VALID_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def request_id() -> str:
    """The id of the request being handled (``-`` outside one)."""
    return _request_id.get()


def request_id_set(value: str) -> contextvars.Token[str]:
    return _request_id.set(value)


def request_id_reset(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (attach it to the handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request id,
    process id, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
            "process": record.process,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
