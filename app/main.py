"""The application factory: settings in, a configured FastAPI app out."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from app import __version__
from app.config import PROJECT_ROOT, Settings
from app.db import Database, open_database
from app.demos.coalesce import Coalescer
from app.demos.pool import DemoPool
from app.following import FollowHub
from app.grading.language import warm as warm_grader
from app.housekeeping import Sweeper
from app.lti.keys import key_store
from app.lti.sender import ScoreSender
from app.metrics import install_metrics
from app.migrate import pending_revisions
from app.points import TEMPLATE_FILTERS
from app.questions import load_folder
from app.ratelimit import InFlight
from app.routes import (
    api,
    demos,
    follow,
    health,
    instructor,
    instructor_auth,
    instructor_class,
    instructor_grader,
    instructor_queue,
    instructor_reviews,
    lti,
    playground,
    present,
    quiz,
    rounds,
    signin,
)
from app.web.csrf import csrf_token
from app.web.errors import install_error_handlers
from app.web.middleware import BodySizeLimit, HeadAsGet, RequestObserver, SecurityHeaders
from app.web.rendering import highlight_css
from app.web.static import FingerprintedStatic, url_for_with_static

logger = logging.getLogger("tfquiz")
TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"
WARM_UP_DELAY_S = 2.0


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Refuse to serve an unmigrated database; dispose of the engine at shutdown."""
    database: Database = app.state.db
    if pending_revisions(database.engine):
        raise RuntimeError("The database schema is not up to date: run `tfquiz migrate`.")
    pool: DemoPool = app.state.pool
    pool.start()  # workers import TensorFlow in the background; serving starts at once
    app.state.lti_sender.start()  # scores queued for LMSs go out beside serving
    app.state.sweeper.start()
    # The grader's word list takes a fraction of a second to load: load it beside serving,
    # once the first pages are out (bench/web_start.py: loading it at once delayed the first
    # page by 200-300 ms), so that the first answer does not wait for it either.
    warm_up = threading.Timer(WARM_UP_DELAY_S, warm_grader, kwargs={"freeze": True})
    warm_up.name, warm_up.daemon = "grader-warm-up", True
    warm_up.start()
    try:
        yield
    finally:
        warm_up.cancel()
        app.state.sweeper.close()
        app.state.lti_sender.close()
        pool.close()
        database.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: database, questions, templates, middleware and routes."""
    settings = settings or Settings()
    app = FastAPI(
        title="tfquiz",
        version=__version__,
        summary="A self-grading quiz on custom models and training with TensorFlow.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = open_database(settings)
    app.state.bank = load_folder(settings.questions_dir)
    for error in app.state.bank.errors:
        logger.error("question file skipped: %s", error)
    app.state.pool = DemoPool(settings)
    app.state.demo_slots = InFlight(settings.demo_in_flight_per_client)
    app.state.demo_runs = Coalescer()  # identical live runs at once share one execution
    app.state.lti_keys = key_store(settings)  # the key file is made on first use, not here
    app.state.lti_sender = ScoreSender(app.state.db, app.state.bank, app.state.lti_keys, settings)
    app.state.sweeper = Sweeper(app.state.db, settings)
    app.state.templates = Jinja2Templates(directory=TEMPLATES_DIR)
    # Checking each template's file on every render costs a stat per template and page.
    app.state.templates.env.auto_reload = settings.reload_templates
    app.state.templates.env.filters.update(TEMPLATE_FILTERS)
    app.state.templates.env.globals["app_version"] = __version__
    app.state.templates.env.globals["csrf_token"] = csrf_token
    app.state.follow = FollowHub(
        app.state.db,
        app.state.bank,
        app.state.templates.env,
        app.state.pool,
        poll_s=settings.follow_poll_s,
        max_streams=settings.follow_max_streams,
    )
    static = FingerprintedStatic(STATIC_DIR)
    app.state.templates.env.globals["url_for"] = url_for_with_static(static)
    css = highlight_css()

    @app.get("/assets/highlight.css", include_in_schema=False)
    def _highlight_css() -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    app.add_middleware(HeadAsGet)  # innermost: the log and the headers see the HEAD
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key,
        session_cookie=settings.session_cookie,
        max_age=settings.session_max_age_days * 24 * 3600,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outside BodySizeLimit: a refused body gets them too
    metrics = install_metrics(app, settings)
    # Outermost: times it all, once, for the access log and the metrics.
    app.add_middleware(RequestObserver, metrics=metrics, write_log=settings.access_log)
    install_error_handlers(app)
    app.include_router(quiz.router)
    app.include_router(signin.router)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(demos.router)
    app.include_router(present.router)
    app.include_router(follow.router)
    app.include_router(instructor_auth.router)
    app.include_router(instructor.router)
    app.include_router(instructor_reviews.router)
    app.include_router(instructor_queue.router)
    app.include_router(instructor_grader.router)
    app.include_router(instructor_class.router)
    app.include_router(playground.router)
    app.include_router(lti.router)
    app.include_router(lti.instructor_router)
    app.include_router(rounds.router)
    app.include_router(rounds.public)
    app.mount("/static", static, name="static")
    return app
