"""Log lines for people or for machines, and the access line of a request.

With ``TFQUIZ_LOG_FORMAT=json`` every event is one JSON object on one line. Only the fields
named here are ever written: never cookies, headers, bodies, query strings or the secret key.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.types import Scope

from app.text import escape_control

ACCESS = logging.getLogger("tfquiz.access")
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "client")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# The request being served, so that an error logged while serving it says which one.
current_request: ContextVar[dict[str, Any] | None] = ContextVar("tfquiz_request", default=None)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record's fields, its request's fields and any traceback as JSON."""
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        event: dict[str, Any] = {
            "timestamp": stamp.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                event[name] = value
        if record.exc_info:
            event["error"] = self.formatException(record.exc_info)
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        return json.dumps(event, ensure_ascii=False, default=str)


class RequestContext(logging.Filter):
    """Give a record logged while a request is served that request's fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Copy the fields the record lacks from the current request; keep every record."""
        for name, value in (current_request.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def logging_config(log_format: Literal["text", "json"], level: str = "info") -> dict[str, Any]:
    """Return a ``logging.config.dictConfig`` for the app and uvicorn in one format."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    chosen = level.upper()
    # Libraries speak at WARNING and above unless asked for less.
    quiet = chosen if chosen in ("WARNING", "ERROR") else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {"request": {"()": RequestContext}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": quiet},
        "loggers": {
            "tfquiz": {"level": chosen},
            "uvicorn": {"handlers": [], "level": chosen, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": chosen, "propagate": True},
            # Replaced by tfquiz.access, which times requests and drops query strings.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def printable_path(scope: Scope) -> str:
    """Return the request path as sent (percent-encoded, so no control characters)."""
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else str(scope["path"])


def request_fields(scope: Scope) -> dict[str, Any]:
    """Return the fields of a request that its log lines carry."""
    client = scope.get("client")
    return {
        "method": scope["method"],
        "path": printable_path(scope),
        "client": client[0] if client else None,
    }


def log_access(fields: dict[str, Any], status: int, seconds: float) -> None:
    """Write the access line of a request that took ``seconds``."""
    duration_ms = round(seconds * 1000, 2)
    fields.update(status=status, duration_ms=duration_ms)
    ACCESS.info(
        '%s "%s %s" %d %.1f ms',
        fields["client"] or "-",
        fields["method"],
        fields["path"],
        status,
        duration_ms,
        extra=fields,
    )


class CappedLog:
    """Log lines from an untrusted writer, marked as its own, within a budget per minute.

    A demo worker's stderr carries whatever snippet code writes there: each line is escaped
    and prefixed so it cannot pass for another entry, and past the budget one line says so
    and the rest is only counted, so a flood cannot fill the disk or bury other entries.
    """

    WINDOW_S = 60.0

    def __init__(self, logger: logging.Logger, prefix: str, bytes_per_minute: int) -> None:
        self.logger = logger
        self.prefix = prefix
        self.limit = bytes_per_minute
        self.window_start = time.monotonic()
        self.used = 0
        self.suppressed = 0

    def write(self, line: str) -> None:
        """Log one line, or count it once this minute's budget is spent."""
        now = time.monotonic()
        if now - self.window_start >= self.WINDOW_S:
            self.close()
            self.window_start, self.used = now, 0
        message = f"{self.prefix} {escape_control(line)}"
        size = len(message.encode("utf-8", "replace"))  # what the log would hold
        if self.suppressed or self.used + size > self.limit:
            if not self.suppressed:
                self.logger.warning(
                    "%s over %s bytes this minute: the rest is suppressed", self.prefix, self.limit
                )
            self.suppressed += size
            return
        self.used += size
        self.logger.warning("%s", message)

    def close(self) -> None:
        """Say how much was suppressed since the budget ran out, if anything was."""
        if self.suppressed:
            self.logger.warning("%s suppressed %s bytes", self.prefix, f"{self.suppressed:,}")
            self.suppressed = 0
