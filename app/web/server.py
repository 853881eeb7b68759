"""uvicorn's httptools protocol with the limits a server facing clients directly needs.

uvicorn bounds neither a request head (httptools buffers an endless header in memory) nor
the time a client takes to send one, and its ``limit_concurrency`` answers only once a
head is complete. This protocol refuses a head past ``max_header_bytes`` or
``max_headers`` with 431, closes a connection whose head or body does not arrive in time
(408), and answers a connection past ``max_connections`` with 503 as soon as it sends
its request, without handing it to the app.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from app.config import Settings

logger = logging.getLogger("tfquiz.server")
# Descriptors a web process needs besides its client connections: the listening socket,
# database connections, demo worker pipes, log and metrics files, the thread pool's.
RESERVED_FILES = 128
# A connection past the cap is answered 503 as soon as it sends anything; one that sends
# nothing is closed after this long, so a flood of idle ones cannot hold descriptors.
OVER_CAPACITY_GRACE_S = 1.0
RETRY_AFTER_S = 5
# A flood of refused connections must not flood the log too: one line per kind a minute.
LOG_EVERY_S = 60.0
FULL = b"The server is full; try again in a few seconds.\n"


class HeadRefused(Exception):
    """A request head past a limit, raised from a parser callback to stop parsing."""


@dataclass(frozen=True)
class Limits:
    """What one connection may send, how fast, and how many connections one process serves."""

    max_header_bytes: int
    max_headers: int
    header_timeout_s: float
    body_timeout_s: float
    max_connections: int


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with head size and count limits, timeouts and a cap."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        factory: ProtocolFactory,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.factory = factory
        self.limits = factory.limits
        self.admitted = False
        self.head_size = 0  # the current head's request line and complete headers
        self.partial_bytes = 0  # bytes of reads that ended inside the current head
        self.in_head = False
        self.in_body = False
        self.refused = False
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the connection; one past the cap gets a moment to send its request."""
        super().connection_made(transport)
        if self.factory.admitted >= self.limits.max_connections:
            self.refused = True
            self.arm(OVER_CAPACITY_GRACE_S, self.close_silently)
        else:
            self.factory.admitted += 1
            self.admitted = True
            self.arm(self.limits.header_timeout_s, self.head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        """Free the connection's place under the cap and forget its deadline."""
        self.disarm()
        if self.admitted:
            self.factory.admitted -= 1
            self.admitted = False
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, refusing a head past its limits before it grows any further."""
        if self.refused:
            if not self.transport.is_closing():
                self.answer(503, FULL, (b"retry-after", str(RETRY_AFTER_S).encode()))
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, HeadRefused):
                self.answer(431, f"{exc.__context__}\n".encode())
            else:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
            return
        # Past a connection's first head, deadlines are armed only when a read ends
        # mid-request, so that a kept-alive request read whole (the usual case) costs no timer.
        if self.in_head:
            # The parser keeps a partial header in memory: count it against the limit.
            self.partial_bytes += len(data)
            if self.partial_bytes > self.limits.max_header_bytes:
                self.answer(431, b"Request header fields too large.\n")
            elif self.deadline is None:  # a keep-alive request's own header deadline
                self.arm(self.limits.header_timeout_s, self.head_timed_out)
        elif self.in_body and self.deadline is None:
            self.arm(self.limits.body_timeout_s, self.body_timed_out)

    def on_message_begin(self) -> None:
        """Start counting a new head."""
        super().on_message_begin()
        self.in_head, self.head_size, self.partial_bytes = True, 0, 0

    def on_url(self, url: bytes) -> None:
        """Count the request line against the head size limit."""
        super().on_url(url)
        self.check_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count the header against the size and count limits."""
        super().on_header(name, value)
        if len(self.headers) > self.limits.max_headers:
            raise HeadRefused("Too many request header fields.")
        self.check_head(len(name) + len(value) + 4)  # ": " and CRLF

    def on_headers_complete(self) -> None:
        """The head is in: its deadline ends; a body's starts once the parser waits for it."""
        self.in_head, self.in_body = False, True
        self.disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The whole request is in: nothing more to wait for."""
        self.in_body = False
        self.disarm()
        super().on_message_complete()

    def check_head(self, size: int) -> None:
        """Refuse a head that a single read carried past the size limit."""
        self.head_size += size
        if self.head_size > self.limits.max_header_bytes:
            raise HeadRefused("Request header fields too large.")

    def arm(self, delay: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` after ``delay`` seconds unless the client sends in time."""
        self.disarm()
        self.deadline = self.loop.call_later(delay, callback)

    def disarm(self) -> None:
        """Cancel the pending deadline, if any."""
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def head_timed_out(self) -> None:
        """Close a connection whose head did not arrive in time (408 if it had begun)."""
        self.deadline = None
        if self.in_head:
            self.answer(408, b"The request head took too long to arrive.\n")
        elif self.cycle is None:  # connected but never sent a byte
            self.close_silently()

    def body_timed_out(self) -> None:
        """Close a connection whose body did not arrive in time; the app sees a disconnect."""
        self.deadline = None
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not self.in_body:
            self.close_silently()
            return
        if not cycle.response_started:
            self.answer(408, b"The request body took too long to arrive.\n")
        cycle.disconnected = True
        cycle.message_event.set()
        self.close_silently()

    def close_silently(self) -> None:
        """Close the connection without an answer."""
        if not self.transport.is_closing():
            self.transport.close()

    def answer(self, status: int, body: bytes, *headers: tuple[bytes, bytes]) -> None:
        """Write a short plain answer of the server's own, then close the connection."""
        self.disarm()
        self.in_head = False
        self.refused = True  # whatever else arrives on this connection is dropped
        if self.transport.is_closing():
            return
        lines = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *headers):
            lines.append(name + b": " + value + b"\r\n")
        lines.append(b"content-type: text/plain; charset=utf-8\r\n")
        lines.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(lines) + body)
        self.transport.close()
        log_refusal(status, body.decode().strip())


_last_logged: dict[int, tuple[float, int]] = {}


def log_refusal(status: int, reason: str) -> None:
    """Log a refused connection, at most once a minute per status with a count of the rest."""
    now = time.monotonic()
    since, count = _last_logged.get(status, (-LOG_EVERY_S, 0))
    if now - since < LOG_EVERY_S:
        _last_logged[status] = (since, count + 1)
        return
    _last_logged[status] = (now, 0)
    more = f" ({count} more since the last line)" if count else ""
    logger.warning("refused a connection with %d: %s%s", status, reason, more)


class ProtocolFactory:
    """Build the protocol for each connection and count the admitted ones against the cap.

    uvicorn calls it as it would call a protocol class. A plain object rather than a class
    with the limits baked in, so that it pickles into each process ``--workers`` spawns,
    where its copy counts that process's connections (connections past the cap, which
    are being refused, do not count).
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.admitted = 0

    def __call__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> LimitedHttpToolsProtocol:
        """Return a protocol for one new connection."""
        return LimitedHttpToolsProtocol(config, server_state, app_state, _loop, factory=self)


def http_protocol(settings: Settings, open_files: int) -> type[asyncio.Protocol]:
    """Return ``uvicorn.run``'s ``http``: limited protocols, the cap fitted under ``open_files``."""
    limits = Limits(
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
        header_timeout_s=settings.request_header_timeout_s,
        body_timeout_s=settings.request_body_timeout_s,
        max_connections=connection_cap(settings.max_connections, open_files),
    )
    # uvicorn calls ``http`` to build each connection's protocol (uvicorn/server.py,
    # create_protocol): a factory serves as a class would.
    return cast("type[asyncio.Protocol]", ProtocolFactory(limits))


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit; return the soft limit.

    Every connection holds a descriptor; the default soft limit (often 1,024) would let
    the descriptors, not the connection cap, decide when the server stops answering.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= soft:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        return soft
    return hard


def connection_cap(wanted: int, open_files: int) -> int:
    """Return the connection cap, lowered with a warning below what the file limit allows."""
    allowed = max(1, open_files - RESERVED_FILES)
    cap = min(wanted, allowed)
    if cap < wanted:
        logger.warning(
            "TFQUIZ_MAX_CONNECTIONS=%d is more than the open-file limit (%d) allows: "
            "serving at most %d connections per process; raise the limit (ulimit -n) for more.",
            wanted,
            open_files,
            cap,
        )
    else:
        logger.info("serving at most %d connections per process", cap)
    return cap
