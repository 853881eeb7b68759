"""Exports parsed back cell by cell: the gradebook CSV, every attempt as CSV and JSON, the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.exports import csv_cell, neutralise
from app.models import Attempt, Learner
from tests.factories import GOOD_Q3, answer_page, post_form, start

EVIL_NAME = '=HYPERLINK("http://evil.example","Click")'
PLUS_ANSWER = "+1 No, they differ: tf.range(10) is int32, np.arange gives int64 from NumPy."
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
QUESTION_HEADERS = [
    "Q1 What is TensorFlow? (10)",
    "Q2 Is TensorFlow a drop-in replacement for NumPy? (10)",
    "Q3 tf.range(10) versus tf.constant(np.arange(10)) (10)",
    "Q4 Six data structures beyond regular tensors (10)",
    "Q5 Custom loss - a function or a keras.losses.Loss subclass? (10)",
    "Q6 Custom metric - a function or a keras.metrics.Metric subclass? (10)",
    "Q7 Custom layer or custom model? (10)",
    "Q8 When do you need a custom training loop? (10)",
    "Q9 Arbitrary Python code in custom Keras components (10)",
    "Q10 Rules for a function convertible to a TF Function (10)",
    "Q11 Dynamic (eager) Keras models (10)",
]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        ("Ada", "Ada"),
    ],
)
def test_formula_cells_are_neutralised(text: str, cell: str) -> None:
    assert neutralise(text) == cell == csv_cell(text)


def test_numbers_and_times_are_written_plainly() -> None:
    moment = datetime(2026, 11, 25, 14, 5, 9, 123456, tzinfo=UTC)
    assert [csv_cell(v) for v in (None, 10.0, 7.14, 0.8569, -1.5, 3, True, moment)] == [
        "",
        "10",
        "7.14",
        "0.8569",
        "-1.5",  # our own numbers are never neutralised
        "3",
        "true",
        "2026-11-25T14:05:09Z",
    ]


@pytest.fixture
def classroom(app: Any, instructor_client: TestClient) -> dict[str, int]:
    """Two learners: one with a formula for a name, one whose answer starts with a plus."""
    ids = {}
    with TestClient(app) as evil:
        start(evil, EVIL_NAME, "evil@example.org")
        answer_page(evil, 3, "No, they differ.")
        ids["evil_q3"] = _attempt_id(answer_page(evil, 3, GOOD_Q3))
    with TestClient(app) as ada:
        start(ada, "Ada", "ada@example.org")
        ids["ada_q3"] = _attempt_id(answer_page(ada, 3, PLUS_ANSWER))
        ids["ada_q1"] = _attempt_id(answer_page(ada, 1, "No idea."))
    with TestClient(app) as idle:
        start(idle, "Zoë")
    page = f"/instructor/attempts/{ids['ada_q3']}"
    data = {"score": "9", "comment": "Fine."}
    assert post_form(instructor_client, page, data, page).status_code == 303
    return ids


def _attempt_id(response: Any) -> int:
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_gradebook_csv(instructor_client: TestClient, classroom: dict[str, int]) -> None:
    response = instructor_client.get("/instructor/export/scores.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="tfquiz-scores-{today}.csv"'
    )
    assert "\r\n" in response.text
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["Learner", "Email", *QUESTION_HEADERS, "Total (110)", "Last activity"]
    assert len(rows) == 4  # every learner, sorted by name; formula-looking names quoted
    evil, ada, zoe = rows[1:]  # "=" sorts before letters
    assert ada[:2] == ["Ada", "ada@example.org"]
    assert ada[2] == "0" and ada[4] == "9"  # the override counts on Q3
    assert ada[3] == ada[5] == "" and ada[13] == "9" and ISO.match(ada[14])
    assert evil[:2] == ["'" + EVIL_NAME, "evil@example.org"]
    assert evil[4] == "10" and evil[2] == "" and evil[13] == "10"  # best of two attempts
    assert zoe == ["Zoë", "", *[""] * 11, "0", ""]


def test_attempts_csv_and_json(
    instructor_client: TestClient, classroom: dict[str, int], session: Session
) -> None:
    as_csv = instructor_client.get("/instructor/export/attempts.csv")
    as_json = instructor_client.get("/instructor/export/attempts.json")
    assert as_csv.status_code == as_json.status_code == 200
    assert "tfquiz-attempts-" in as_csv.headers["content-disposition"]
    assert as_json.headers["content-disposition"].endswith('.json"')
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    records = json.loads(as_json.text)
    assert len(rows) == len(records) == 4
    assert (
        list(rows[0])
        == list(records[0])
        == [
            "attempt_id",
            "learner",
            "email",
            "question_number",
            "question_id",
            "created_at",
            "auto_score",
            "counted_score",
            "counted_points",
            "max_points",
            "overridden",
            "practice",
            "content_hash",
            "text",
        ]
    )
    attempts = session.scalars(select(Attempt).order_by(Attempt.id)).all()
    names = {learner.id: learner.display_name for learner in session.scalars(select(Learner))}
    for row, record, attempt in zip(rows, records, attempts, strict=True):
        assert record["attempt_id"] == attempt.id and row["attempt_id"] == str(attempt.id)
        assert record["learner"] == names[attempt.learner_id]
        assert row["learner"] == neutralise(names[attempt.learner_id])
        assert record["question_number"] == attempt.question_number
        assert record["question_id"] == row["question_id"] == attempt.question_id
        assert record["content_hash"] == row["content_hash"] == attempt.content_hash
        assert ISO.match(record["created_at"]) and row["created_at"] == record["created_at"]
        assert record["auto_score"] == attempt.score and float(row["auto_score"]) == attempt.score
        assert record["counted_points"] == attempt.final_points
        assert record["max_points"] == 10.0 and row["max_points"] == "10"
        assert record["text"] == attempt.text and row["text"] == neutralise(attempt.text)
        overridden = attempt.id == classroom["ada_q3"]
        assert record["overridden"] is overridden
        assert row["overridden"] == ("true" if overridden else "false")
        assert record["practice"] is attempt.practice is False  # no one saw a reference
        assert row["practice"] == "false"
    plus = next(r for r in records if r["attempt_id"] == classroom["ada_q3"])
    assert plus["text"] == PLUS_ANSWER and plus["counted_score"] == 0.9
    plus_row = next(r for r in rows if r["attempt_id"] == str(classroom["ada_q3"]))
    assert plus_row["text"] == "'" + PLUS_ANSWER and plus_row["counted_points"] == "9"
    evil = next(r for r in rows if r["attempt_id"] == str(classroom["evil_q3"]))
    assert evil["learner"] == "'" + EVIL_NAME and evil["email"] == "evil@example.org"


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m app`` against the test's data directory."""
    env = {
        **os.environ,
        "TFQUIZ_DATA_DIR": str(settings.data_dir),
        "TFQUIZ_DATABASE_URL": settings.resolved_database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_cli_exports_match_the_downloads(
    instructor_client: TestClient, classroom: dict[str, int], settings: Settings
) -> None:
    scores = run_cli(settings, "export", "scores", "--format", "csv")
    assert scores.returncode == 0, scores.stderr
    download = instructor_client.get("/instructor/export/scores.csv").text
    assert scores.stdout.replace("\r\n", "\n") == download.replace("\r\n", "\n")
    first = next(csv.reader(io.StringIO(scores.stdout)))
    assert first[0] == "Learner" and first[-2] == "Total (110)"

    target = settings.data_dir / "attempts.json"
    written = run_cli(settings, "export", "attempts", "--format", "json", "--output", str(target))
    assert written.returncode == 0, written.stderr
    records = json.loads(target.read_text(encoding="utf-8"))
    assert records == instructor_client.get("/instructor/export/attempts.json").json()
    assert {r["learner"] for r in records} == {EVIL_NAME, "Ada"}

    as_json = run_cli(settings, "export", "scores", "--format", "json")
    gradebook = {row["learner"]: row for row in json.loads(as_json.stdout)}
    assert gradebook[EVIL_NAME]["scores"]["3"] == 10.0 and gradebook["Ada"]["total"] == 9.0
    assert gradebook["Zoë"]["last_activity"] is None


def test_cli_export_explains_bad_arguments(settings: Settings) -> None:
    wrong = run_cli(settings, "export", "grades")
    assert wrong.returncode == 2 and "grades" in wrong.stderr
    unwritable = run_cli(settings, "export", "scores", "--output", "/nonexistent/x.csv")
    assert unwritable.returncode == 1 and "Cannot write /nonexistent/x.csv" in unwritable.stderr
