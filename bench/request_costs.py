"""Benchmark: where a request's time goes inside the app, without HTTP or a network.

Drives the ASGI app in-process, one request at a time, on a fresh SQLite file with default
settings (no demo workers), and times each request's full path through the middleware,
dependencies and handler; then the pieces an answer and a live demo spend their time in:
grading, the answer's write transaction, the demo rate limiter and the demo cache write.
The baseline, measured in the same run, is ``GET /healthz``: the app's middleware on an
endpoint that does nothing.

Each round times the current tree and a baseline revision (by default the tree before
issue 12's reshape), each in a fresh process, alternately, so that both columns come from
the same run on the same machine:

    .venv/bin/python -m bench.request_costs [--rounds 3] [--baseline REV | --no-baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import re
import statistics
import subprocess
import sys
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
from bench.baseline import ROOT, checkout
from tests.factories import GOOD_Q3

REPEATS = 500
WARMUP = 50
ANSWER = json.dumps({"learner": "Ada {n}", "text": GOOD_Q3})
DEMO, ANSWERS = "/api/questions/3/demos/1", "/api/questions/3/answers"
BASELINE = "d68efa7"  # main before issue 12 reshaped app/
CHILD = "TFQUIZ_BENCH_CHILD"  # set in the processes that measure one tree
# One row of a measuring process's report: "name   1.234ms   5.6x".
ROW = re.compile(r"^(?P<name>.*?\S)\s+(?P<ms>\d+\.\d+)ms\s+[\d.]+x$")
# What a tree needs to serve its pages and run this benchmark.
TREE = ("app", "bench", "questions", "static", "templates", "tests")


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
    """Time the current tree and the baseline, alternately, and print them side by side."""
    if os.environ.get(CHILD):
        report()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--no-baseline", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tfquiz-costs-base-") as folder:
        base = Path(folder)
        trees = {"current": ROOT}
        if not options.no_baseline and checkout(options.baseline, base, TREE):
            trees["baseline"] = base
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for _ in range(options.rounds):
            for name, root in trees.items():
                runs[name].append(measure_tree(root))
    medians = {name: _medians(found) for name, found in runs.items()}
    say(f"in-process, one request at a time, median of {REPEATS}, {options.rounds} rounds")
    header = f"{'what':<42} {'current':>9} {'/healthz':>8}"
    say(header + (f" {'baseline':>9} {'/healthz':>8}  ratio" if "baseline" in medians else ""))
    now = medians["current"]
    then = medians.get("baseline", {})
    for name, value in now.items():
        line = f"{name:<42} {value:>7.3f}ms {value / now[HEALTHZ]:>7.1f}x"
        if name in then:
            # Paired by round: both trees ran back to back, so drift in the machine's
            # speed over the run cancels out of each round's ratio.
            pairs = zip(runs["current"], runs["baseline"], strict=True)
            ratio = statistics.median(cur[name] / base[name] for cur, base in pairs)
            line += f" {then[name]:>7.3f}ms {then[name] / then[HEALTHZ]:>7.1f}x {ratio:>6.2f}"
        say(line)
    if then:
        say(f"baseline: {options.baseline}; ratio: median over rounds of current / baseline")


HEALTHZ = "GET /healthz (baseline)"


def measure_tree(root: Path) -> dict[str, float]:
    """Run one measuring process on the tree under ``root``; return its rows in ms."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.request_costs"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root), CHILD: "1"},
    )
    rows = (ROW.match(line) for line in done.stdout.splitlines())
    return {m["name"]: float(m["ms"]) for m in rows if m}


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Return each row's median over the rounds, in the order of the first round."""
    return {name: statistics.median(run[name] for run in runs if name in run) for name in runs[0]}


def report() -> None:
    """Time this tree's requests and pieces and print them beside its /healthz."""
    with tempfile.TemporaryDirectory(prefix="tfquiz-costs-") as folder:
        baseline, rows = asyncio.run(measure(Path(folder)))
    say(f"in-process, one request at a time, median of {REPEATS}; questions from {PROJECT_ROOT}")
    say(f"{'what':<42} {'median':>9}  / healthz")
    say(f"{HEALTHZ:<42} {baseline:>7.3f}ms      1.0x")
    for name, value in rows:
        say(f"{name:<42} {value:>7.3f}ms {value / baseline:>8.1f}x")


async def measure(folder: Path) -> tuple[float, list[tuple[str, float]]]:
    """Serve the app from a fresh database in ``folder``; time the baseline and the cases."""
    # Each answer comes from a new learner (so no per-learner limit applies): since issue 14
    # that is a sign-up, counted per address, and its row includes hashing a sign-in code.
    settings = Settings(
        data_dir=folder,
        demo_workers=0,
        access_log=False,
        answer_limit_per_address=10**9,
        start_limit_per_address=10**9,
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
