"""Benchmark: the instructor dashboard over 1,000 learners x 11 questions x 5 attempts.

Fills a fresh SQLite file with realistic graded attempts (per-point rows included), serves it
with ``tfquiz serve``, signs an instructor in, and times the dashboard overview, its JSON
twin and the CSV export beside a baseline measured in the same run: the learner home page
for an anonymous visitor. Target: each under 200 ms median.

Run with ``.venv/bin/python -m bench.dashboard``.
"""

from __future__ import annotations

import math
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import insert

from app.config import PROJECT_ROOT, Settings
from app.db import Database, create_db_engine
from app.instructors import create_instructor
from app.migrate import upgrade_to_head
from app.models import Attempt, AttemptMisconception, AttemptPoint, Learner
from app.questions import load_folder
from app.schema import Question
from tests.server import running_server

LEARNERS = 1000
ATTEMPTS_PER_QUESTION = 5
REQUESTS = 30
TARGET_MS = 200.0
EMAIL, PASSWORD = "bench@example.org", "bench password 123"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ANSWER = (
    "TensorFlow builds on tensors like NumPy arrays, but runs on GPUs and TPUs, computes "
    "gradients automatically and can trace Python into graphs for speed and export. "
)


def sigmoid(value: float) -> float:
    """Squash a real number into (0, 1)."""
    return 1 / (1 + math.exp(-value))


def attempt_rows(
    rng: random.Random, learner_id: int, question: Question, ability: float, start: datetime
) -> list[tuple[dict[str, Any], list[tuple[str, bool]], list[str]]]:
    """Return one learner's attempts at one question, improving from try to try."""
    points = question.rubric.key_points
    difficulty = (question.number - 6) / 4
    rows = []
    for index in range(ATTEMPTS_PER_QUESTION):
        skill = ability - difficulty + 0.25 * index
        met = [(p.id, rng.random() < sigmoid(skill + rng.gauss(0, 0.8))) for p in points]
        weight = sum(p.weight for p, (_, hit) in zip(points, met, strict=True) if hit)
        score = round(weight / question.rubric.total_weight, 3)
        found = [m.id for m in question.rubric.misconceptions if rng.random() < 0.08]
        breakdown = {
            "question": question.number,
            "score": score,
            "points": round(score * question.points, 2),
            "max_points": question.points,
            "feedback": "Generated for the benchmark.",
            "key_points": [
                {
                    "id": p.id,
                    "text": p.text,
                    "weight": p.weight,
                    "met": hit,
                    "evidence": [],
                    "contradicted_by": [],
                    "voided_by": [],
                }
                for p, (_, hit) in zip(points, met, strict=True)
            ],
            "misconceptions": [
                {"id": m, "feedback": "", "evidence": [], "demo": None} for m in found
            ],
            "keyword_list": False,
        }
        attempt = {
            "learner_id": learner_id,
            "question_id": str(question.id),
            "question_number": question.number,
            "content_hash": question.content_hash,
            "text": ANSWER * (1 + index),
            "score": score,
            "points": breakdown["points"],
            "max_points": question.points,
            "breakdown": breakdown,
            "created_at": start + timedelta(minutes=question.number * 10 + index),
            "final_score": score,
            "final_points": breakdown["points"],
        }
        rows.append((attempt, met, found))
    return rows


def populate(
    database: Database, questions: list[Question], learners: int = LEARNERS
) -> tuple[int, int]:
    """Insert the learners and their attempts in bulk; return how many attempts and points."""
    rng = random.Random(20261125)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    attempts: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    found: list[dict[str, Any]] = []
    for learner_id in range(1, learners + 1):
        ability = rng.gauss(-0.6, 1.0)
        for question in questions:
            for attempt, met, misconceptions in attempt_rows(
                rng, learner_id, question, ability, start
            ):
                attempt_id = len(attempts) + 1
                attempts.append({"id": attempt_id, **attempt})
                points.extend(
                    {
                        "attempt_id": attempt_id,
                        "point_id": point_id,
                        "question_id": str(question.id),
                        "question_number": question.number,
                        "met": hit,
                    }
                    for point_id, hit in met
                )
                found.extend(
                    {
                        "attempt_id": attempt_id,
                        "misconception_id": m,
                        "question_id": str(question.id),
                        "question_number": question.number,
                    }
                    for m in misconceptions
                )
    with database.writing() as session:
        session.execute(
            insert(Learner),
            [
                {"id": i, "display_name": f"Learner {i:04d}", "name_key": f"learner {i:04d}"}
                for i in range(1, learners + 1)
            ],
        )
        session.execute(insert(Attempt), attempts)
        session.execute(insert(AttemptPoint), points)
        if found:
            session.execute(insert(AttemptMisconception), found)
        create_instructor(session, EMAIL, PASSWORD)
    return len(attempts), len(points)


def sign_in(client: httpx.Client) -> None:
    """Sign the benchmark's instructor in through the form, with its CSRF token."""
    page = client.get("/instructor/login")
    token = TOKEN.search(page.text)
    assert token, "no CSRF token on the sign-in page"
    response = client.post(
        "/instructor/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text[:500]


def median_ms(client: httpx.Client, path: str) -> float | None:
    """Return the median latency of REQUESTS GETs of ``path``, or None if it is not there."""
    if client.get(path).status_code == 404:  # also warms any cache up
        return None
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, f"{path}: {response.status_code}"
    return statistics.median(times) * 1000


def main() -> None:
    """Fill the database, serve it, and print each page's median, ratio and verdict."""
    bank = load_folder(PROJECT_ROOT / "questions")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        engine = create_db_engine(Settings(data_dir=folder))
        upgrade_to_head(engine)
        started = time.perf_counter()
        counts = populate(Database(engine), bank.ordered())
        filled = time.perf_counter() - started
        engine.dispose()
        with (
            running_server(folder) as url,
            httpx.Client(base_url=url) as anonymous,
            httpx.Client(base_url=url) as instructor,
        ):
            baseline = median_ms(anonymous, "/")
            sign_in(instructor)
            timings = {
                path: median_ms(instructor, path)
                for path in (
                    "/instructor/",
                    "/instructor/?sort=total&order=desc&page=7",
                    "/api/instructor/overview",
                    "/instructor/questions/3",
                    "/instructor/export/scores.csv",
                )
            }
    report(counts, filled, baseline, timings)


def report(
    counts: tuple[int, int],
    filled: float,
    baseline: float | None,
    timings: dict[str, float | None],
) -> None:
    """Print the table of medians, ratios to the baseline and verdicts."""
    assert baseline is not None
    attempts, points = counts
    line = f"learners: {LEARNERS:,}, attempts: {attempts:,}, key-point rows: {points:,}"
    print(f"{line}, filled in {filled:.1f} s")  # noqa: T201
    print(f"median of {REQUESTS} requests each, target < {TARGET_MS:.0f} ms")  # noqa: T201
    print(f"{'page':44} {'median':>9} {'ratio':>7}  verdict")  # noqa: T201
    print(f"{'GET / (baseline, anonymous)':44} {baseline:7.1f}ms {1:6.1f}x")  # noqa: T201
    for path, value in timings.items():
        if value is None:
            print(f"{'GET ' + path:44} {'absent':>9} {'':>7}  not built yet")  # noqa: T201
            continue
        verdict = "PASS" if value < TARGET_MS else "FAIL"
        line = f"{'GET ' + path:44} {value:7.1f}ms {value / baseline:6.1f}x  {verdict}"
        print(line)  # noqa: T201


if __name__ == "__main__":
    main()
