"""Prometheus metrics at /metrics: requests, latencies, answers, sign-ins and the demo pool.

With several web processes, prometheus-client's multiprocess mode is used when
``PROMETHEUS_MULTIPROC_DIR`` is set: every process writes its figures to files there and
``/metrics`` adds them up, whichever process answers. ``tfquiz serve`` prepares the folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from app.config import Settings
from app.demos.pool import DemoPool
from app.demos.protocol import RunOutcome

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"  # one label for every unknown path, so scanners add no series
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
WORKER_STATES = ("idle", "busy", "starting", "spares", "fresh")  # fresh: playground-only
SYNC_INTERVAL_S = 5.0


def multiprocess_dir() -> str | None:
    """Return the shared metrics folder of a multi-process server, if there is one."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The app's metric families; in multiprocess mode their values live in shared files."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tfquiz_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "tfquiz_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.answers = Counter(
            "tfquiz_answers_recorded",
            "Answers graded and stored, by channel.",
            ["channel"],
            registry=r,
        )
        self.logins = Counter(
            "tfquiz_instructor_logins", "Instructor sign-ins by outcome.", ["outcome"], registry=r
        )
        self.demo_runs = Counter(
            "tfquiz_demo_runs", "Live demo runs by outcome.", ["status"], registry=r
        )
        self.queue = Gauge(
            "tfquiz_demo_queue_length",
            "Demo runs waiting for a free worker.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.workers = Gauge(
            "tfquiz_demo_workers",
            "Demo worker processes by state.",
            ["state"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.restarts = Counter(
            "tfquiz_demo_worker_restarts",
            "Demo workers replaced after a failure, a leak or their run quota.",
            registry=r,
        )
        self._restarts_seen = 0

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request under its route template."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def answer_recorded(self, channel: Literal["api", "form"]) -> None:
        """Count an answer stored (not a replay), by the channel it came through."""
        self.answers.labels(channel).inc()

    def sign_in(self, outcome: Literal["success", "failure", "rate_limited"]) -> None:
        """Count an instructor's sign-in attempt by its outcome."""
        self.logins.labels(outcome).inc()

    def sync_pool(self, pool: DemoPool) -> None:
        """Copy the demo pool's queue, worker counts and restarts into the metrics."""
        state = pool.state
        self.queue.set(state["waiting"])
        for name in WORKER_STATES:
            self.workers.labels(name).set(state[name])
        new = state["restarts"] - self._restarts_seen
        if new > 0:
            self.restarts.inc(new)
            self._restarts_seen = state["restarts"]

    def exposition(self) -> bytes:
        """Return every metric in Prometheus' text format, summed over processes if shared."""
        if multiprocess_dir() is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


def count_demo_runs(pool: DemoPool, metrics: Metrics) -> None:
    """Count every run of the pool by outcome, a full queue as ``busy``."""

    def count(outcome: RunOutcome | None, seconds: float) -> None:
        metrics.demo_runs.labels(outcome.status if outcome is not None else "busy").inc()

    pool.add_observer(count)


def metrics_endpoint(settings: Settings, metrics: Metrics) -> Callable[[Request], Response]:
    """Build the /metrics handler: behind a bearer token when one is set, else loopback only.

    The counters name routes and sign-in outcomes, which a stranger should not watch; a
    scraper on the same machine needs nothing, one elsewhere sends TFQUIZ_METRICS_TOKEN.
    """
    expected = f"Bearer {settings.metrics_token}".encode() if settings.metrics_token else None

    def serve_metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return JSONResponse(
                    {"detail": "Send the metrics token as `Authorization: Bearer <token>`."},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"},
                )
        elif not from_this_machine(request):
            return JSONResponse(
                {
                    "detail": "/metrics answers only clients on this machine (loopback, not "
                    "through a proxy); set TFQUIZ_METRICS_TOKEN to scrape it from elsewhere."
                },
                status_code=403,
                headers={"Cache-Control": "no-store"},
            )
        metrics.sync_pool(request.app.state.pool)
        body = metrics.exposition()
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    return serve_metrics


def from_this_machine(request: Request) -> bool:
    """Tell whether a request came over loopback straight from its client.

    A proxy on the same machine connects over loopback too, so a request that carries
    forwarding headers is treated as coming from outside whoever the proxy says sent it.
    """
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install_metrics(app: FastAPI, settings: Settings) -> Metrics:
    """Keep the metrics on the app, count demo runs, and serve /metrics unless turned off.

    Requests are counted by app.web.middleware.RequestObserver.
    """
    metrics = Metrics()
    app.state.metrics = metrics
    count_demo_runs(app.state.pool, metrics)
    if settings.metrics:
        app.add_api_route("/metrics", metrics_endpoint(settings, metrics), include_in_schema=False)
    if multiprocess_dir() is not None:
        publish_pool_state(app, metrics)
    return metrics


def publish_pool_state(app: FastAPI, metrics: Metrics) -> None:
    """Keep this process's pool gauges fresh for scrapes that another process answers."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async def publish() -> None:
            while True:
                metrics.sync_pool(app.state.pool)
                await asyncio.sleep(SYNC_INTERVAL_S)

        async with inner(app) as state:
            task = asyncio.create_task(publish())
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                # A stopped process's live gauges must not count any more.
                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    app.router.lifespan_context = lifespan


def prepare_multiprocess_dir(workers: int) -> Path | None:
    """Empty the shared metrics folder, or make a private one when several workers need it.

    Returns the folder made here (the caller removes it at exit), else None.
    """
    folder = multiprocess_dir()
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink(missing_ok=True)
        return None
    if workers <= 1:
        return None
    made = Path(tempfile.mkdtemp(prefix="tfquiz-metrics-"))
    os.environ[MULTIPROC_ENV] = str(made)  # the workers inherit it
    return made


def remove_multiprocess_dir(folder: Path | None) -> None:
    """Remove a metrics folder that prepare_multiprocess_dir made."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
