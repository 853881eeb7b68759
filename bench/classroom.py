"""Benchmark: a class pressing Run at once, on a real server with default queue settings.

One ``tfquiz serve`` on loopback, demo workers and queue as the defaults make them
(``TFQUIZ_DEMO_WORKERS`` unset: sized from the machine), every learner a browser with its
own session. Each section measures a burst beside a baseline from the same run:

a. ``burst``: 60 learners at once across all 27 demos: errors, the p50 and p99 time from
   pressing Run to the result, how many executions ran, against each demo run alone;
b. ``identical``: 30 learners at once on the slowest demo: executions (expected: 1) and
   times, against that run alone;
c. ``round``: 300 learners answering a live round within 10 s, on a server of its own
   (``bench.live_round``): errors, p99 of an answer and the time until the presenter's
   tally shows all 300, against the same answers with no round open; on SQLite, and on
   PostgreSQL too with ``--database-url``.

Only the per-minute limits are raised: the baselines add runs from the one loopback
address past its 120 a minute. Sections are named in ``SECTIONS``; a new one is a function
of a ``Class`` returning its lines. Bounded: every request times out, and the whole run
stops after ``--budget`` seconds. Run with ``.venv/bin/python -m bench.classroom``
(``--only burst`` for one section).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path

import httpx2 as httpx

from app.config import PROJECT_ROOT
from app.questions import load_folder
from bench.live_round import report as live_round_report
from bench.live_round import run_live_round
from bench.server import running_server, send_csrf_token, wait_for_demo, wait_for_page

BURST = 60
IDENTICAL = 30
ALONE_REPEATS = 5
WARM_DEMO = "/api/questions/3/demos/1/run"
REQUEST_TIMEOUT_S = 300.0
UNLIMITED = {"TFQUIZ_DEMO_LIMIT_PER_SESSION": "100000", "TFQUIZ_DEMO_LIMIT_PER_ADDRESS": "100000"}
RUNS = re.compile(r'^tfquiz_demo_runs_total\{status="(\w+)"\} ([0-9.e+]+)$', re.MULTILINE)


@dataclass
class Class:
    """The server a section drives, and the demos it can run."""

    url: str
    demos: list[str]
    deadline: float

    def learners(self, count: int) -> list[httpx.Client]:
        """Open ``count`` browsers, each with its own session, as a class's would be."""
        browsers = []
        for _ in range(count):
            browser = httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT_S)
            send_csrf_token(browser)
            browsers.append(browser)
        return browsers

    def executions(self) -> int:
        """Count the runs the workers have done (refusals as busy left out), from /metrics."""
        text = httpx.get(self.url + "/metrics", timeout=10).text
        return round(sum(float(n) for status, n in RUNS.findall(text) if status != "busy"))

    def check_time(self) -> None:
        """Stop the benchmark once it is past its budget."""
        if time.monotonic() > self.deadline:
            raise SystemExit("bench.classroom: past its time budget; stopped")


@dataclass
class Burst:
    """What a set of simultaneous requests got: times, and what was not a result."""

    seconds: list[float]
    errors: list[str]
    executions: int

    def percentile(self, share: float) -> float:
        """Return a percentile of the times, in milliseconds (nearest rank)."""
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000


def press_run(browsers: list[httpx.Client], paths: list[str], room: Class) -> Burst:
    """Have every browser press Run on its path at the same moment; time each answer."""
    before = room.executions()
    start = threading.Barrier(len(browsers))

    def one(job: tuple[httpx.Client, str]) -> tuple[float, str | None]:
        browser, path = job
        start.wait()
        began = time.perf_counter()
        try:
            response = browser.post(path)
        except httpx.HTTPError as error:
            return time.perf_counter() - began, f"{path}: {type(error).__name__}"
        took = time.perf_counter() - began
        return took, None if response.status_code == 200 else f"{path}: {response.status_code}"

    with ThreadPoolExecutor(len(browsers)) as threads:
        answers = list(threads.map(one, zip(browsers, paths, strict=True)))
    return Burst(
        seconds=[took for took, _ in answers],
        errors=[error for _, error in answers if error],
        executions=room.executions() - before,
    )


def alone(room: Class, paths: list[str]) -> Burst:
    """Run each path by itself, one after the other: what one learner waits on an idle server."""
    (browser,) = room.learners(1)
    seconds, errors = [], []
    before = room.executions()
    for path in paths:
        began = time.perf_counter()
        response = browser.post(path)
        seconds.append(time.perf_counter() - began)
        if response.status_code != 200:
            errors.append(f"{path}: {response.status_code}")
    browser.close()
    return Burst(seconds, errors, room.executions() - before)


def report(name: str, burst: Burst, baseline: Burst, requests: int) -> list[str]:
    """Lines for one burst beside its baseline."""
    p50, p99, base = burst.percentile(0.5), burst.percentile(0.99), baseline.percentile(0.5)
    return [
        f"{name}: {requests} requests, {len(burst.errors)} errors, "
        f"{burst.executions} executions on the workers",
        f"  press to result: p50 {p50:.0f} ms, p99 {p99:.0f} ms; alone p50 {base:.0f} ms "
        f"(ratio p50 {p50 / base:.1f}, p99 {p99 / base:.1f})",
        *(f"  error: {error}" for error in burst.errors[:10]),
    ]


def burst(room: Class) -> list[str]:
    """(a) 60 learners at once across all 27 demos, against each demo run alone."""
    baseline = alone(room, room.demos)
    room.check_time()
    browsers = room.learners(BURST)
    result = press_run(browsers, list(islice(cycle(room.demos), BURST)), room)
    for browser in browsers:
        browser.close()
    waits = httpx.get(room.url + "/readyz", timeout=10).json()["checks"]["demos"]["wait"]
    return [
        *report(f"burst across {len(room.demos)} demos", result, baseline, BURST),
        f"  server's queue waits (last 200 runs): p50 {waits['p50_ms']} ms, "
        f"p95 {waits['p95_ms']} ms",
    ]


def identical(room: Class) -> list[str]:
    """(b) 30 learners at once on the slowest demo, against that run alone.

    The slowest, because 30 requests take tens of milliseconds to arrive (each is counted
    in a write transaction first) and a 5 ms run is over before the last ones come: they
    start runs of their own, which is right, but shows nothing of sharing.
    """
    survey = alone(room, room.demos)
    slowest = room.demos[survey.seconds.index(max(survey.seconds))]
    baseline = alone(room, [slowest] * ALONE_REPEATS)
    room.check_time()
    browsers = room.learners(IDENTICAL)
    result = press_run(browsers, [slowest] * IDENTICAL, room)
    for browser in browsers:
        browser.close()
    return report(f"identical on {slowest}", result, baseline, IDENTICAL)


SECTIONS: dict[str, Callable[[Class], list[str]]] = {"burst": burst, "identical": identical}


def demo_paths() -> list[str]:
    """The run path of every shipped demo."""
    bank = load_folder(PROJECT_ROOT / "questions")
    return [
        f"/api/questions/{question.number}/demos/{demo.index}/run"
        for question in bank.ordered()
        for demo in question.demos
    ]


def main() -> None:
    """Start one server, warm its worker, then run each section in turn."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted([*SECTIONS, "round"]), action="append")
    parser.add_argument(
        "--database-url", help="a PostgreSQL server for the live round's second run"
    )
    parser.add_argument("--budget", type=float, default=900.0, help="seconds for the whole run")
    options = parser.parse_args()
    deadline = time.monotonic() + options.budget
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}")  # noqa: T201
    with tempfile.TemporaryDirectory() as folder:
        # Workers unset: sized from the machine, as on a server left at its defaults.
        settings = {**UNLIMITED, "TFQUIZ_DEMO_WORKERS": "auto"}
        with running_server(Path(folder), settings=settings) as server:
            wait_for_page(server)
            warm = httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S)
            wait_for_demo(warm, WARM_DEMO)  # TensorFlow imported, first op paid
            warm.close()
            state = httpx.get(server.url + "/readyz", timeout=10).json()["checks"]["demos"]
            print(  # noqa: T201
                f"server: {state['workers']} worker(s) per process (from the machine), "
                f"queue of {state['queue_size']}, device {state['device_kind']}"
            )
            room = Class(server.url, demo_paths(), deadline)
            for name in [n for n in options.only or list(SECTIONS) if n in SECTIONS]:
                for line in SECTIONS[name](room):
                    print(line)  # noqa: T201
    if options.only is None or "round" in options.only:
        for database_url in (None, options.database_url) if options.database_url else (None,):
            print("\n".join(live_round_report(run_live_round(database_url))))  # noqa: T201


if __name__ == "__main__":
    main()
