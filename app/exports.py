"""Exports: a gradebook CSV that spreadsheets and LMSs import, and every attempt as CSV or JSON.

Aggregates (best score per learner and question, totals, last activity) are computed by
SQLite; Python only writes the rows a query returns. CSV cells that a spreadsheet would
run as a formula are neutralised with a leading quote; JSON keeps values as they are.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Numeric, case, cast, exists, func, literal, select
from sqlalchemy.orm import Session

from app.attempts import counted
from app.models import Attempt, ChangeKind, Learner, ScoreChange
from app.points import format_points
from app.policy import get_count_practice
from app.schema import Question

Cell = str | float | int | bool | datetime | None
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ATTEMPT_FIELDS = (
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
)
BATCH = 1000


def neutralise(text: str) -> str:
    """Prefix a quote to text a spreadsheet would otherwise run as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def iso_utc(moment: datetime) -> str:
    """Write a time as ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv_cell(value: Cell) -> str:
    """Write one CSV cell: numbers plainly, times in ISO 8601, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, int | float):
        return f"{value:.10g}" if isinstance(value, float) else str(value)
    return neutralise(value)


def json_value(value: Any) -> Any:
    """Return a value as JSON holds it: times as ISO 8601 strings, the rest unchanged."""
    return iso_utc(value) if isinstance(value, datetime) else value


def csv_chunks(headers: list[str], rows: Iterable[Iterable[Cell]]) -> Iterator[str]:
    """Yield a CSV document (RFC 4180, CRLF line ends) in chunks of about BATCH rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(h) for h in headers])
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(cell) for cell in row])
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Yield a JSON array of objects keyed by the headers, in chunks of about BATCH rows."""
    keys = list(headers)
    parts = ["["]
    for count, row in enumerate(rows):
        record = {key: json_value(cell) for key, cell in zip(keys, row, strict=True)}
        parts.append(("," if count else "") + "\n" + json.dumps(record, ensure_ascii=False))
        if len(parts) >= BATCH:
            yield "".join(parts)
            parts.clear()
    parts.append("\n]\n")
    yield "".join(parts)


def score_headers(questions: list[Question]) -> list[str]:
    """Return the gradebook's column names, with each question's maximum in brackets."""
    possible = sum(q.points for q in questions)
    columns = [f"Q{q.number} {q.title} ({format_points(q.points)})" for q in questions]
    return ["Learner", "Email", *columns, f"Total ({format_points(possible)})", "Last activity"]


def score_rows(session: Session, questions: list[Question]) -> Iterator[tuple[Cell, ...]]:
    """Yield one gradebook row per learner: best counted points per question, total, time.

    Practice attempts count only where the course counts them; the time is of any attempt.
    """
    points = counted(Attempt.final_points, get_count_practice(session))
    best = [
        func.max(case((Attempt.question_id == str(q.id), points))).label(f"q{i}")
        for i, q in enumerate(questions)
    ]
    # One pass grouped by learner: the best per question is a conditional max, no sort needed.
    per_learner = (
        select(Attempt.learner_id, *best, func.max(Attempt.created_at).label("last"))
        .group_by(Attempt.learner_id)
        .subquery()
    )
    scores = [per_learner.c[f"q{i}"] for i in range(len(questions))]
    total = sum((func.coalesce(score, 0.0) for score in scores), literal(0.0))
    query = (
        select(
            Learner.display_name,
            Learner.email,
            *scores,
            # PostgreSQL rounds to a number of places only for numeric values.
            cast(func.round(cast(total, Numeric), 2), Float),
            per_learner.c.last,
        )
        .outerjoin(per_learner, per_learner.c.learner_id == Learner.id)
        .order_by(Learner.name_key, Learner.id)
    )
    for row in session.execute(query):
        yield tuple(row)


def scores_json_rows(session: Session, questions: list[Question]) -> Iterator[tuple[Any, ...]]:
    """Yield gradebook rows shaped for JSON: scores keyed by question number."""
    numbers = [str(q.number) for q in questions]
    for name, email, *rest in score_rows(session, questions):
        *scores, total, last = rest
        yield name, email, dict(zip(numbers, scores, strict=True)), total, last


SCORE_JSON_FIELDS = ("learner", "email", "scores", "total", "last_activity")


def attempt_rows(session: Session) -> Iterator[tuple[Cell, ...]]:
    """Yield every attempt with its learner, oldest first, fetched in batches."""
    changed = exists().where(
        ScoreChange.attempt_id == Attempt.id,
        ScoreChange.kind.in_((ChangeKind.OVERRIDE, ChangeKind.CLAIM)),
    )
    query = (
        select(
            Attempt.id,
            Learner.display_name,
            Learner.email,
            Attempt.question_number,
            Attempt.question_id,
            Attempt.created_at,
            Attempt.score,
            Attempt.final_score,
            Attempt.final_points,
            Attempt.max_points,
            changed,
            Attempt.practice,
            Attempt.content_hash,
            Attempt.text,
        )
        .join(Learner, Learner.id == Attempt.learner_id)
        .order_by(Attempt.id)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query):
        yield tuple(row)


def export_stream(
    reading: Callable[[], Any], kind: str, fmt: str, questions: list[Question]
) -> Iterator[str]:
    """Yield an export in chunks, holding a read session only while it streams."""
    with reading() as session:
        if kind == "scores" and fmt == "csv":
            yield from csv_chunks(score_headers(questions), score_rows(session, questions))
        elif kind == "scores":
            yield from json_chunks(SCORE_JSON_FIELDS, scores_json_rows(session, questions))
        elif fmt == "csv":
            yield from csv_chunks(list(ATTEMPT_FIELDS), attempt_rows(session))
        else:
            yield from json_chunks(ATTEMPT_FIELDS, attempt_rows(session))


def export_filename(kind: str, fmt: str, today: datetime | None = None) -> str:
    """Return a dated file name such as tfquiz-scores-2026-11-25.csv."""
    day = (today or datetime.now(UTC)).strftime("%Y-%m-%d")
    return f"tfquiz-{kind}-{day}.{fmt}"
