"""The baseline of bench/load.py: bare FastAPI endpoints, served like ``tfquiz serve`` serves.

``python -m bench.bare --port P --workers N`` runs uvicorn with the options of
``tfquiz serve`` (same log configuration, no uvicorn access log, no proxy headers, the
same graceful-shutdown timeout, the same protocol with its limits on clients), so that only
the application differs.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from app.config import Settings
from app.logs import logging_config
from app.web.server import http_protocol, raise_open_file_limit

PAGE = "<!doctype html><html lang=en><title>bare</title><p>A bare page.</p></html>"


class Answer(BaseModel):
    """The body of an answer, validated as the real endpoint validates it."""

    learner: str
    text: str


def create_app() -> FastAPI:
    """Build an app with one page and one JSON endpoint, both plain ``def`` like the app's."""
    app = FastAPI()

    @app.get("/bare")
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.post("/bare", status_code=201)
    def answer(body: Answer) -> dict[str, str]:
        return {"learner": body.learner, "recorded": "no"}

    return app


def main() -> None:
    """Serve the bare app with ``tfquiz serve``'s uvicorn options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = Settings()
    uvicorn.run(
        "bench.bare:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        proxy_headers=False,
        log_config=logging_config(settings.log_format, settings.log_level),
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
        http=http_protocol(settings, raise_open_file_limit()),
    )


if __name__ == "__main__":
    main()
