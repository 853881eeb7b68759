"""What every HTML route shares: render, redirect with a flash, safe_next and demo cards."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from app.demos.protocol import DemoRunner
from app.demos.runs import DemoResult, find_cached_all
from app.schema import Demo, Question
from app.validation import InvalidText
from app.web.rendering import render_code, render_markdown

FLASH_KEY = "flash"
Row = TypeVar("Row")


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """Render a page with the message left for it; no-store, as pages name who is signed in."""
    context.setdefault("flash", request.session.pop(FLASH_KEY, None))
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, url: str, flash: str | None = None) -> Response:
    """Redirect after a POST (303), leaving ``flash`` for the next page to show."""
    if flash:
        request.session[FLASH_KEY] = flash
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None, home: str = "/", under: str = "/") -> str:
    """Return ``url`` if it is a path on this site under ``under``, else ``home``.

    A browser follows ``//host``, ``/\\host`` and (dropping tabs and newlines) ``/\\t/host``
    to another site, so anything but a plain printable local path goes home.
    """
    if (
        url
        and url.startswith(under)
        and not url.startswith("//")
        and "\\" not in url
        and url.isprintable()
        and "//" not in url.split("?", 1)[0]
    ):
        return url
    return home


def chosen(button: str, options: tuple[str, str], message: str) -> str:
    """Return which of a form's buttons was pressed, or raise InvalidText asking for one."""
    if button not in options:
        raise InvalidText(message)
    return button


def get_or_404(session: Session, model: type[Row], row_id: int, what: str) -> Row:
    """Return the row with this id, or answer 404 saying there is no such ``what``."""
    row = session.get(model, row_id)
    if row is None:
        raise HTTPException(404, detail=f"There is no {what} {row_id}.")
    return row


def view_demo(demo: Demo, result: DemoResult | None) -> dict[str, Any]:
    """Prepare what a demo card shows."""
    return {
        "index": demo.index,
        "title": demo.title,
        "intro": render_markdown(demo.intro_markdown) if demo.intro_markdown else "",
        "code": render_code(demo.code),
        "devices": demo.devices,
        "result": result,
    }


def demos_for(question: Question, session: Session, pool: DemoRunner) -> list[dict[str, Any]]:
    """Prepare every demo card of a question, with cached results where there are some."""
    cached = find_cached_all(session, question, question.demos, pool.state.get("device_kind"))
    return [view_demo(demo, cached[demo.index]) for demo in question.demos]
