"""Benchmark: where a request's time goes inside the app, without HTTP or a network.

Drives the ASGI app in-process, one request at a time, on a fresh SQLite file with default
settings (no demo workers), and times each request's full path through the middleware,
dependencies and handler; then the pieces an answer and a live demo spend their time in:
grading, the answer's write transaction, the demo rate limiter and the demo cache write.
The baseline, measured in the same run, is ``GET /healthz``: the app's middleware on an
endpoint that does nothing.

Run with ``.venv/bin/python -m bench.request_costs``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from app import ratelimit
from app.config import PROJECT_ROOT, Settings
from app.db import open_database
from app.demos.protocol import RunOutcome
from app.demos.runs import _store, installed_tf_version
from app.grading import grade_answer
from app.main import create_app
from app.migrate import upgrade_to_head
from app.models import utc_now
from tests.factories import GOOD_Q3

REPEATS = 500
WARMUP = 50
ANSWER = json.dumps({"learner": "Ada {n}", "text": GOOD_Q3})
DEMO, ANSWERS = "/api/questions/3/demos/1", "/api/questions/3/answers"


async def median_ms(action: Callable[[int], object]) -> float:
    """Run ``action`` (awaiting what it returns, if awaitable) after a warm-up; return its
    median wall time in milliseconds."""
    times = []
    for n in range(-WARMUP, REPEATS):
        started = time.perf_counter()
        if inspect.isawaitable(result := action(n)):
            await result
        if n >= 0:
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def asgi_caller(app: Any) -> Callable[..., Awaitable[int]]:
    """Return a function that sends one request straight to the app and returns its status."""

    async def call(method: str, path: str, body: str = "") -> int:
        data = body.encode()
        headers = [(b"host", b"bench"), (b"content-length", str(len(data)).encode())]
        if data:
            headers.append((b"content-type", b"application/json"))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "headers": headers, "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80), "root_path": "", "state": {},
        }  # fmt: skip
        messages = [{"type": "http.request", "body": data, "more_body": False}]
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        return statuses[0]

    return call


def main() -> None:
    """Time the requests and the pieces, and print them beside the baseline."""
    with tempfile.TemporaryDirectory(prefix="tfquiz-costs-") as folder:
        baseline, rows = asyncio.run(measure(Path(folder)))
    say(f"in-process, one request at a time, median of {REPEATS}; questions from {PROJECT_ROOT}")
    say(f"{'what':<42} {'median':>9}  / healthz")
    say(f"{'GET /healthz (baseline)':<42} {baseline:>7.3f}ms      1.0x")
    for name, value in rows:
        say(f"{name:<42} {value:>7.3f}ms {value / baseline:>8.1f}x")


async def measure(folder: Path) -> tuple[float, list[tuple[str, float]]]:
    """Serve the app from a fresh database in ``folder``; time the baseline and the cases."""
    settings = Settings(
        data_dir=folder, demo_workers=0, access_log=False, answer_limit_per_address=10**9
    )
    database = open_database(settings)
    upgrade_to_head(database.engine)
    app = create_app(settings)
    send = asgi_caller(app)
    question = app.state.bank.questions[3]
    outcome = RunOutcome(
        status="ok", stdout="int32\n", tf_version=installed_tf_version(), device_kind="cpu"
    )
    buckets = (
        ratelimit.Bucket("bench-session", "s", 10**9),
        ratelimit.Bucket("bench-address", "a", 10**9),
    )

    def limit_demo(n: int) -> None:
        with database.writing() as session:
            ratelimit.check(session, *buckets, refusal="over")

    def store_demo(n: int) -> None:
        with database.writing() as session:
            _store(session, question.demos[0], outcome, utc_now())

    def check(expected: int, method: str, path: str, body: str = "") -> Callable[[int], object]:
        async def action(n: int) -> None:
            status = await send(method, path, body.replace("{n}", str(n)))
            if status != expected:
                raise RuntimeError(f"{method} {path} answered {status}, not {expected}")

        return action

    cases: list[tuple[str, Callable[[int], object]]] = [
        ("GET /questions/3 (anonymous)", check(200, "GET", "/questions/3")),
        ("GET /api/questions/3/demos/1 (cached)", check(200, "GET", DEMO)),
        ("POST /api/questions/3/answers", check(201, "POST", ANSWERS, ANSWER)),
        ("  grading the answer", lambda n: grade_answer(question, GOOD_Q3)),
        ("  live demo: rate-limit transaction", limit_demo),
        ("  live demo: cache write transaction", store_demo),
    ]
    try:
        async with app.router.lifespan_context(app):
            baseline = await median_ms(check(200, "GET", "/healthz"))
            store_demo(0)  # the cached demo has a result to serve
            rows = [(name, await median_ms(action)) for name, action in cases]
    finally:
        database.engine.dispose()
        app.state.db.engine.dispose()
    return baseline, rows


def say(text: str) -> None:
    """Print one line of the report."""
    print(text, flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
