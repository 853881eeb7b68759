"""Turn every failure into a clear message: JSON under /api/, an HTML page elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from app.demos.protocol import PoolBusy
from app.ratelimit import RateLimited
from app.web.auth import SignInRequired, sign_in_url
from app.writelock import WriteLockTimeout

logger = logging.getLogger("tfquiz")
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    409: "Already taken",
    405: "Method not allowed",
    413: "Too large",
    429: "Too many requests",
    503: "Busy",
    422: "Invalid input",
    500: "Server error",
}


class ErrorOut(BaseModel):
    """Why a request was refused."""

    detail: str


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI entries for the error statuses a route may answer with."""
    return {code: {"model": ErrorOut, "description": TITLES.get(code, "Error")} for code in codes}


# Every route under /api/instructor/ may answer these, besides its own.
INSTRUCTOR_API_ERRORS = documented(401, 403, 404, 413, 422, 429)


def wants_json(request: Request) -> bool:
    """Tell whether the request came to the JSON API."""
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, message: str, **extra: Any) -> Response:
    """Render an error as JSON for the API or as a page for browsers."""
    headers = {"Cache-Control": "no-store"}
    if wants_json(request):
        return JSONResponse({"detail": message, **extra}, status_code=status, headers=headers)
    templates: Jinja2Templates = request.app.state.templates
    context = {"title": TITLES.get(status, "Error"), "message": message, "status": status}
    return templates.TemplateResponse(
        request, "errors/error.html", context, status_code=status, headers=headers
    )


def refusal(error: RateLimited | PoolBusy | ValueError) -> tuple[int, str, dict[str, str]]:
    """Return the status, message and headers for a refused request; a form shows them too.

    Input that is not valid (``InvalidText``, ``InvalidCode``: ValueErrors with a message
    for the person who typed it) is 422; the others say when to come back.
    """
    if isinstance(error, RateLimited):
        return 429, error.message, {"Retry-After": str(error.retry_after)}
    if isinstance(error, PoolBusy):
        message = f"Every demo worker is busy; try again in {error.retry_after} s."
        return 503, message, {"Retry-After": str(error.retry_after)}
    return 422, str(error), {}


def too_large_message(limit: int) -> str:
    """Say how large a request body may be."""
    return f"The request body is too large; the limit is {limit / (1024 * 1024):g} MiB."


def describe_validation(errors: list[Any]) -> tuple[int, str, list[dict[str, str]]]:
    """Summarise validation errors without echoing the input back."""
    items: list[dict[str, str]] = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            reason = error.get("ctx", {}).get("error", "")
            return 400, f"The request body is not valid JSON ({reason}).", []
        if error.get("type") == "string_unicode":
            message = "contains an invalid character (a lone surrogate)"
        items.append({"field": where, "message": message})
    if any(item["field"].startswith("path.") for item in items):
        return 404, "No such page: there is no question or attempt at this address.", []
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in items)
    return 422, f"Invalid request: {summary}.", items


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        status, message, items = describe_validation(list(error.errors()))
        extra = {"errors": items} if items else {}
        return error_response(request, status, message, **extra)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> Response:
        message = str(error.detail)
        if error.status_code == 404 and message == "Not Found":
            message = "No such page: there is no question or attempt at this address."
        if error.status_code == 413:
            message = too_large_message(request.app.state.settings.max_body_bytes)
        response = error_response(request, error.status_code, message)
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(RateLimited)
    @app.exception_handler(PoolBusy)
    async def _refused(request: Request, error: RateLimited | PoolBusy) -> Response:
        status, message, headers = refusal(error)
        response = error_response(request, status, message)
        response.headers.update(headers)
        return response

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _error: SignInRequired) -> Response:
        if wants_json(request):
            message = "Sign in as an instructor first."
            return JSONResponse(
                {"detail": message}, status_code=401, headers={"Cache-Control": "no-store"}
            )
        return RedirectResponse(sign_in_url(request), status_code=303)

    @app.exception_handler(OperationalError)
    async def _database_locked(request: Request, error: OperationalError) -> Response:
        if "database is locked" not in str(error.orig):
            return await _crash(request, error)
        return _busy(request)

    @app.exception_handler(WriteLockTimeout)
    async def _no_turn_to_write(request: Request, _error: WriteLockTimeout) -> Response:
        return _busy(request)

    def _busy(request: Request) -> Response:
        logger.warning("database busy past its timeout on %s %s", request.method, request.url.path)
        message = "The server is very busy right now; nothing was saved. Please try again."
        response = error_response(request, 503, message)
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "Something went wrong on our side. The error has been logged."
        return error_response(request, 500, message)
