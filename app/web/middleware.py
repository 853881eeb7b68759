"""The middleware every request passes: one observer, the security headers, the body limit.

Outermost first: ``RequestObserver`` times each request once and feeds that one figure to
the access log and to the metrics; ``SecurityHeaders`` sits outside ``BodySizeLimit`` so that
a refused body gets the headers too.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import current_request, log_access, request_fields
from app.metrics import UNMATCHED, Metrics
from app.web.errors import too_large_message

# Pages run only scripts from /static; inline style attributes draw bars and heat maps.
APP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's interactive API docs start Swagger UI with an inline script.
DOCS_POLICY = APP_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
DOCS_PATHS = ("/docs", "/redoc")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class HttpMiddleware(ABC):
    """Pass every other scope (lifespan, websockets) through; subclasses serve HTTP in http()."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hand an HTTP request to http(), anything else straight to the app."""
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    @abstractmethod
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request."""


class HeadAsGet(HttpMiddleware):
    """Answer HEAD like GET, without the body: monitors and link checkers probe with HEAD.

    FastAPI routes a GET route for GET only, so without this every page and ``/healthz``
    answered HEAD with 405. The headers, Content-Length included, are the GET's.
    """

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a HEAD request as its GET, dropping what the body would have been."""
        if scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class RequestObserver(HttpMiddleware):
    """Time each HTTP request once; write its access line and count it in the metrics.

    With ``write_log`` off no line is written, but errors still carry their request's fields.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, write_log: bool = True) -> None:
        super().__init__(app)
        self.metrics = metrics
        self.write_log = write_log

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request inside its log context, then log and count it."""
        started = time.perf_counter()
        fields = request_fields(scope)
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
            self._observed(scope, fields, status, time.perf_counter() - started)
            raise
        current_request.reset(token)
        self._observed(scope, fields, status, time.perf_counter() - started)

    def _observed(
        self, scope: Scope, fields: dict[str, object], status: int, seconds: float
    ) -> None:
        """Write the access line and count the request under its route template."""
        if self.write_log:
            log_access(fields, status, seconds)
        # The router leaves the matched route in the scope: label by its template.
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        self.metrics.observe(route, scope["method"], status, seconds)


class SecurityHeaders(HttpMiddleware):
    """Add the headers to every HTTP response, errors included."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap ``send`` to add the headers as the response starts."""
        policy = DOCS_POLICY if scope["path"].startswith(DOCS_PATHS) else APP_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(HTTPException):
    """Raised while a body streams in past the limit; the error handlers explain it."""

    def __init__(self) -> None:
        super().__init__(413)


class BodySizeLimit(HttpMiddleware):
    """Answer 413 when Content-Length exceeds the limit, or once the streamed body does."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        super().__init__(app)
        self.limit = limit

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the bytes as they arrive."""
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        message = too_large_message(self.limit)
        response: JSONResponse | HTMLResponse
        if scope["path"].startswith("/api/"):
            response = JSONResponse({"detail": message}, 413)
        else:
            response = HTMLResponse(f"<!doctype html><title>Too large</title><p>{message}</p>", 413)
        response.headers["Connection"] = "close"
        await response(scope, _disconnected, send)


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}
