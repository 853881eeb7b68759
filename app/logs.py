"""Log lines for people or for machines, and one access line per request.

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

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class AccessLog:
    """Log one line per HTTP request: method, path, status, duration and client address.

    With ``write`` off no line is written, but errors still carry their request's fields.
    """

    def __init__(self, app: ASGIApp, write: bool = True) -> None:
        self.app = app
        self.write = write

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request inside its log context, then write its access line."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        client = scope.get("client")
        fields: dict[str, Any] = {
            "method": scope["method"],
            "path": printable_path(scope),
            "client": client[0] if client else None,
        }
        token = current_request.set(fields)
        status = 500  # what the client gets when the app raises

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        except BaseException:
            # Keep the context set: the error handler outside this middleware logs the
            # failure next, and its line should name the request too.
            if self.write:
                log_access(fields, status, started)
            raise
        current_request.reset(token)
        if self.write:
            log_access(fields, status, started)


def log_access(fields: dict[str, Any], status: int, started: float) -> None:
    """Write the access line of a finished request."""
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
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
