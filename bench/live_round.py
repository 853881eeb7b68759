"""Benchmark: 300 learners answering a live round within 10 s, beside the same answers unopened.

On a real ``tfquiz serve`` on loopback (default settings, no demo workers), 300 learners
sign up first (each through a first answer to question 1, which hashes a sign-in code
with argon2: outside the timed part). Then, twice on the same server:

- baseline: the 300 answer question 3, spread evenly over 10 s, with no round open;
- round: a round is open on question 3 and the presenter's tally is watched, both the JSON
  figures (polled every 0.2 s) and the server-sent events of the live view, while the
  same 300 answers arrive over 10 s.

It prints, for each: errors, p50 and p99 latency of an answer, and for the round the time
from the first answer sent until the tally showed all 300. The limits per client address
are raised, as every simulated phone here shares the loopback address (a class behind one
NAT would need the same: docs/configuration.md).

Run with ``.venv/bin/python -m bench.live_round [--database-url postgresql+psycopg://...]``;
with a PostgreSQL URL a fresh database is made beside the one named, and dropped after.
``run_live_round`` is what bench/classroom.py calls.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.db import Database, create_db_engine
from app.instructors import create_instructor
from app.migrate import upgrade_to_head
from bench.server import running_server, wait_for_page
from tests.factories import GOOD_Q3

LEARNERS = 300
SPREAD_S = 10.0
THREADS = 64
TALLY_POLL_S = 0.2
TALLY_TIMEOUT_S = 60.0
EMAIL, PASSWORD = "bench@example.org", "bench password for the live round"
ANSWERS = (GOOD_Q3, "Yes, they are exactly the same tensor.", "No, tf.range(10) gives int32.")
LIMITS = {
    "TFQUIZ_ANSWER_LIMIT_PER_ADDRESS": "100000",
    "TFQUIZ_START_LIMIT_PER_ADDRESS": "100000",
}


@dataclass
class Phase:
    """What one burst of answers measured."""

    name: str
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    tally_json_s: float | None = None  # first answer sent to the JSON figures showing all
    tally_events_s: float | None = None  # the same, on the live view's event stream
    last_answer_s: float | None = None  # first answer sent to the last one recorded

    @property
    def p50_ms(self) -> float:
        """Return the median latency of an answer."""
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99_ms(self) -> float:
        """Return the 99th percentile latency of an answer."""
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100)[98]


@dataclass
class LiveRoundReport:
    """The baseline and the round, measured on one server in one run."""

    database: str
    learners: int
    baseline: Phase
    round: Phase


@contextlib.contextmanager
def fresh_database(url: str | None, folder: Path) -> Iterator[dict[str, str]]:
    """Yield the server's database settings: an SQLite file, or a new PostgreSQL database."""
    if url is None:
        yield {}
        return
    name = f"tfquiz_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield {"TFQUIZ_DATABASE_URL": make_url(url).set(database=name).render_as_string(False)}
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(folder: Path, settings: dict[str, str]) -> None:
    """Migrate the database and add the presenter's account, before serving."""
    engine = create_db_engine(
        Settings(data_dir=folder, database_url=settings.get("TFQUIZ_DATABASE_URL"))
    )
    try:
        upgrade_to_head(engine)
        with Database(engine).writing() as session:
            create_instructor(session, EMAIL, PASSWORD)
    finally:
        engine.dispose()


def sign_up(url: str, index: int) -> httpx.Client:
    """Sign a learner up through a first answer to question 1; return their client."""
    client = httpx.Client(base_url=url, timeout=30)
    body = {"learner": f"Learner {index:03d}", "text": "TensorFlow runs tensors on devices."}
    client.post("/api/questions/1/answers", json=body).raise_for_status()
    return client


def sign_in_presenter(url: str) -> httpx.Client:
    """Sign the presenter in through the form; return the client holding the cookie."""
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/instructor/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    data = {"email": EMAIL, "password": PASSWORD, "csrf_token": token}
    response = client.post("/instructor/login", data=data)
    assert response.status_code == 303, response.text[:300]
    client.headers["X-CSRF-Token"] = token
    return client


def burst(clients: list[httpx.Client], phase: Phase) -> None:
    """Send each learner's answer to question 3, spread over SPREAD_S, timing each."""
    started = time.perf_counter()
    lock = threading.Lock()

    def one(index: int) -> None:
        time.sleep(max(0.0, started + index * SPREAD_S / len(clients) - time.perf_counter()))
        body = {"learner": f"Learner {index:03d}", "text": ANSWERS[index % len(ANSWERS)]}
        sent = time.perf_counter()
        try:
            status = clients[index].post("/api/questions/3/answers", json=body).status_code
        except httpx.HTTPError:
            status = 0
        elapsed = (time.perf_counter() - sent) * 1000
        with lock:
            phase.latencies_ms.append(elapsed)
            phase.errors += status != 201
            phase.last_answer_s = time.perf_counter() - started

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, range(len(clients))))


def watch_json(presenter: httpx.Client, round_id: int, want: int, since: list[float]) -> float:
    """Poll the round's JSON figures until they show ``want`` answers; return when, from since."""
    deadline = time.perf_counter() + TALLY_TIMEOUT_S
    while time.perf_counter() < deadline:
        answered = presenter.get(f"/api/instructor/rounds/{round_id}").json()["answered"]
        if answered >= want and since:
            return time.perf_counter() - since[0]
        time.sleep(TALLY_POLL_S)
    raise RuntimeError(f"the JSON tally did not reach {want} in {TALLY_TIMEOUT_S:g} s")


def watch_events(presenter: httpx.Client, round_id: int, want: int, since: list[float]) -> float:
    """Read the live view's event stream until it shows ``want`` answers; return when."""
    path = f"/instructor/rounds/{round_id}/events"
    timeout = httpx.Timeout(TALLY_TIMEOUT_S)
    with presenter.stream("GET", path, timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: ") and json.loads(line[6:])["answered"] >= want and since:
                return time.perf_counter() - since[0]
    raise RuntimeError("the event stream ended before the tally was complete")


def run_live_round(database_url: str | None = None, learners: int = LEARNERS) -> LiveRoundReport:
    """Serve a fresh database and measure the baseline burst and the live round's burst."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with fresh_database(database_url, folder) as settings:
            prepare(folder, settings)
            with running_server(folder, workers=0, settings={**settings, **LIMITS}) as server:
                wait_for_page(server)
                with ThreadPoolExecutor(8) as pool:
                    clients = list(pool.map(lambda i: sign_up(server.url, i), range(learners)))
                presenter = sign_in_presenter(server.url)
                try:
                    baseline = Phase("baseline (no round open)")
                    burst(clients, baseline)
                    opened = presenter.post("/instructor/rounds", data={"number": "3"})
                    assert opened.status_code == 303, opened.text[:300]
                    round_id = int(opened.headers["location"].rsplit("/", 1)[1])
                    live = Phase("live round open")
                    since: list[float] = []
                    with ThreadPoolExecutor(2) as watchers:
                        by_json = watchers.submit(watch_json, presenter, round_id, learners, since)
                        by_events = watchers.submit(
                            watch_events, presenter, round_id, learners, since
                        )
                        since.append(time.perf_counter())  # the first answer leaves now
                        burst(clients, live)
                        live.tally_json_s, live.tally_events_s = (
                            by_json.result(),
                            by_events.result(),
                        )
                finally:
                    for client in (*clients, presenter):
                        client.close()
    kind = "PostgreSQL" if database_url else "SQLite"
    return LiveRoundReport(kind, learners, baseline, live)


def report(result: LiveRoundReport) -> list[str]:
    """Describe both phases side by side, with the round's ratios to the baseline."""
    base, live = result.baseline, result.round
    lines = [
        f"{result.database}: {result.learners} learners answering within {SPREAD_S:g} s",
        f"{'phase':26} {'errors':>6} {'p50':>9} {'p99':>9}",
    ]
    for phase in (base, live):
        lines.append(
            f"{phase.name:26} {phase.errors:6d} {phase.p50_ms:7.1f}ms {phase.p99_ms:7.1f}ms"
        )
    lines.append(f"p99 ratio, round / baseline: {live.p99_ms / base.p99_ms:.2f}x")
    lines.append(
        f"tally showed all {result.learners}, from the first answer sent: "
        f"JSON {live.tally_json_s:.2f} s, events {live.tally_events_s:.2f} s; "
        f"the last answer was recorded at {live.last_answer_s:.2f} s"
    )
    return lines


def main() -> None:
    """Parse the command line, run the benchmark, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server to make a database on")
    parser.add_argument("--learners", type=int, default=LEARNERS)
    arguments = parser.parse_args()
    print("\n".join(report(run_live_round(arguments.database_url, arguments.learners))))  # noqa: T201


if __name__ == "__main__":
    main()
