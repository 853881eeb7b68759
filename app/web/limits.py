"""Refuse request bodies over the configured size with a message a person can act on."""

from __future__ import annotations

from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.errors import too_large_message


class BodyTooLarge(HTTPException):
    """Raised while a body streams in past the limit; the error handlers explain it."""

    def __init__(self) -> None:
        super().__init__(413)


class BodySizeLimit:
    """Answer 413 when Content-Length exceeds the limit, or once the streamed body does."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
