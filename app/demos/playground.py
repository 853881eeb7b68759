"""The instructor playground: check edited code, rate-limit and audit its runs, run it.

Edited code runs in the same sandbox and under the same limits as every demo, but on a
worker of its own that is killed after the run (``DemoPool.run_isolated``), and never
reaches the demo cache: a question file stays the only source of what learners see.
Every attempt leaves a ``PlaygroundRun`` row (written before the code runs, so even a run
that takes the server down is on record) and an audit log line that names the code by
its hash.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.demos.protocol import DemoRunner, PoolBusy, RunOutcome
from app.demos.runs import DemoResult, demo_result
from app.models import Instructor, PlaygroundRun, utc_now
from app.ratelimit import Bucket, RateLimited, check
from app.schema import Demo, Question
from app.text import has_surrogate, normalize_newlines, size_problem

audit = logging.getLogger("tfquiz.audit")
OFF_MESSAGE = "The playground is turned off on this server (TFQUIZ_PLAYGROUND=1 turns it on)."
MAX_CODE_CHARS = 20_000
RECENT = 20  # audit entries shown beside the editor
RUNNING = "running"  # the status of a run until its outcome is known


class InvalidCode(ValueError):
    """Raised with a message fit to show the instructor who typed the code."""


class Refused(Exception):
    """Raised when a run cannot happen now: rate limited (429) or no worker free (503)."""

    def __init__(self, status_code: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.retry_after = retry_after


class PlaygroundResult(DemoResult):
    """The outcome of edited code, with the hash that names it in the audit log."""

    code_hash: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One past playground run of a demo, as the page lists it."""

    created_at: datetime
    email: str
    status: str
    code_hash: str
    code: str


def clean_code(code: str) -> str:
    """Return the code with line endings normalised, or raise InvalidCode saying why."""
    code = normalize_newlines(code)
    empty = "The code is empty: write or paste a snippet before pressing Run."
    if problem := size_problem(code, MAX_CODE_CHARS, "code", empty):
        raise InvalidCode(problem)
    if "\x00" in code:
        raise InvalidCode("The code contains a NUL character; remove it and run again.")
    if has_surrogate(code):
        raise InvalidCode("The code contains an invalid character (a lone surrogate).")
    return code


def code_hash(code: str) -> str:
    """Return the SHA-256 of the code, the name it goes by in the audit log."""
    return hashlib.sha256(code.encode()).hexdigest()


def limit_runs(session: Session, settings: Settings, instructor_id: int, address: str) -> None:
    """Count one run per instructor and per address; raise RateLimited when over."""
    limit = settings.playground_limit_per_minute
    refusal = f"Too many playground runs (at most {limit} a minute). Try again in {{seconds}} s."
    check(
        session,
        Bucket("playground-instructor", str(instructor_id), limit),
        Bucket("playground-address", address, limit),
        refusal=refusal,
    )


def recent_runs(session: Session, question: Question, demo: Demo) -> list[AuditEntry]:
    """Return the newest playground runs of a demo, newest first."""
    query = (
        select(PlaygroundRun, Instructor.email)
        .outerjoin(Instructor, Instructor.id == PlaygroundRun.instructor_id)
        .where(of_question(question), PlaygroundRun.demo_index == demo.index)
        .order_by(PlaygroundRun.id.desc())
        .limit(RECENT)
    )
    return [
        AuditEntry(
            row.created_at, email or "(deleted account)", row.status, row.code_hash, row.code
        )
        for row, email in session.execute(query)
    ]


def of_question(question: Question) -> ColumnElement[bool]:
    """Return the condition "a run of this question", by uuid, so renumbering keeps history."""
    # A run recorded before uuids whose number no attempt had (migration 0007) has none:
    # it goes with the question that has its number now.
    legacy = PlaygroundRun.question_id.is_(None) & (
        PlaygroundRun.question_number == question.number
    )
    return or_(PlaygroundRun.question_id == str(question.id), legacy)


def run_edited(
    pool: DemoRunner,
    database: Database,
    who: Instructor,
    address: str,
    question: Question,
    demo: Demo,
    code: str,
) -> PlaygroundResult:
    """Run an instructor's edit of a demo on a worker of its own, never cached.

    Raises RateLimited or PoolBusy when it cannot run now, Refused when no worker runs.
    """
    digest = code_hash(code)
    limited: RateLimited | None = None
    with database.writing() as session:
        try:
            limit_runs(session, pool.settings, who.id, address)
        except RateLimited as error:
            limited = error  # raised once the refused attempt is on record
        status = "rate_limited" if limited else RUNNING
        # A refused attempt keeps its hash but not its code, so a flood cannot fill the disk.
        row = PlaygroundRun(
            instructor_id=who.id,
            question_id=str(question.id),
            question_number=question.number,
            demo_index=demo.index,
            code="" if limited else code,
            code_hash=digest,
            status=status,
        )
        session.add(row)
        session.flush()
        run_id = row.id
    if limited:
        _log(who, address, question, demo, digest, status)
        raise limited
    outcome = RunOutcome(status="crashed", message="The run ended without an outcome.")
    try:
        outcome = pool.run_isolated(code, demo.devices)
    except PoolBusy:  # answered 503 with Retry-After by app.web.errors, like every demo
        outcome = RunOutcome(status="unavailable", message="Every demo worker is busy.")
        raise
    finally:
        _finish(database, run_id, outcome.status)
        _log(who, address, question, demo, digest, outcome.status)
    if outcome.status == "unavailable":
        raise Refused(503, outcome.message or "Live demos are unavailable on this server.")
    result = demo_result(question, demo, outcome, cached=False, ran_at=utc_now())
    return PlaygroundResult(**result.model_dump(), code_hash=digest)


def _finish(database: Database, run_id: int, status: str) -> None:
    with database.writing() as session:
        row = session.get(PlaygroundRun, run_id)
        if row is not None:
            row.status = status


def _log(
    who: Instructor, address: str, question: Question, demo: Demo, digest: str, status: str
) -> None:
    audit.info(
        "playground run by %s from %s: question %d demo %d, code sha256 %s: %s",
        who.email,
        address,
        question.number,
        demo.index,
        digest,
        status,
    )
