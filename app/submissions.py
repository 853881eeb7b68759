"""Record a learner's answer: validate, rate-limit, grade, and store it exactly once.

The page form and the JSON API both come through here. A client that lost the response
to a recorded answer (a dropped connection, a server killed after its commit) may send
the same Idempotency-Key again and gets the stored result back instead of a second copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.attempts import record_attempt
from app.config import Settings
from app.db import Database
from app.evidence import stored_result
from app.grading import GradeResult, grade_answer
from app.learners import get_learner
from app.metrics import Metrics
from app.models import Attempt
from app.ratelimit import Bucket, check
from app.reveals import LearnerResult, attempt_view, has_seen_reference, record_reference_view
from app.schema import Question
from app.validation import InvalidText, clean_answer

KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")
TOO_QUICK = "You are sending answers too quickly; try again in {seconds} s."


class KeyReused(InvalidText):
    """Raised when an Idempotency-Key comes back with a different answer."""


@dataclass(frozen=True)
class Recorded:
    """A stored attempt, its grading and the learner's view of it, and whether it was replayed."""

    attempt_id: int
    created_at: datetime
    learner_id: int
    learner_name: str
    result: GradeResult
    view: LearnerResult | None  # made only for a caller that answers with it
    replayed: bool


def clean_key(key: str | None) -> str | None:
    """Return a usable idempotency key, None when absent, or raise InvalidText."""
    if key is None or key == "":
        return None
    if not KEY_PATTERN.match(key):
        raise InvalidText(
            "The Idempotency-Key must be 8 to 100 letters, digits or ._:- characters."
        )
    return key


def submit_answer(
    database: Database,
    settings: Settings,
    question: Question,
    text: str,
    address: str,
    *,
    learner_id: int,
    key: str | None = None,
    with_view: bool = False,
    metrics: Metrics | None = None,
    channel: Literal["api", "form"] = "api",
) -> Recorded:
    """Grade and store an answer for a learner whose identity the caller has established.

    ``with_view`` adds the learner's view of the result for a caller that sends it back
    as it is; a view that reveals the reference then counts as the learner having seen it.
    A new answer (not a replay) is counted in ``metrics`` under ``channel`` once stored.
    """
    text = clean_answer(text, settings.max_answer_chars)
    key = clean_key(key)
    with database.writing() as session:
        learner = get_learner(session, learner_id)
        if learner is None:
            raise InvalidText("Enter your name before answering.")
        who, name = learner.id, learner.display_name
        if replay := _replay(session, who, name, key, question, text, with_view):
            return replay
        # Counted before grading, which costs up to 200 ms of CPU: a refused answer costs
        # only this transaction.
        _limit(session, settings, who, address)
    result = grade_answer(question, text)  # between the transactions: it needs no lock
    with database.writing() as session:
        # The same answer sent twice at once: the other request may have recorded it since.
        if replay := _replay(session, who, name, key, question, text, with_view):
            return replay
        # Decided in the write transaction, so an answer racing the first view is not missed.
        practice = has_seen_reference(session, who, str(question.id))
        attempt = record_attempt(session, who, question, text, result, key, practice)
        recorded = _recorded(session, attempt, name, result, with_view, False)
    if metrics is not None:
        metrics.answer_recorded(channel)
    return recorded


def _replay(
    session: Session,
    learner_id: int,
    name: str,
    key: str | None,
    question: Question,
    text: str,
    with_view: bool,
) -> Recorded | None:
    """Return the attempt already recorded under this idempotency key, if any."""
    earlier = _find_by_key(session, learner_id, key) if key is not None else None
    if earlier is None:
        return None
    _check_replay(earlier, question, text)
    return _recorded(session, earlier, name, None, with_view, True)


def _find_by_key(session: Session, learner_id: int, key: str) -> Attempt | None:
    query = select(Attempt).where(Attempt.learner_id == learner_id, Attempt.idempotency_key == key)
    return session.scalars(query).first()


def _check_replay(attempt: Attempt, question: Question, text: str) -> None:
    if attempt.question_id != str(question.id) or attempt.text != text:
        raise KeyReused("This Idempotency-Key was already used for a different answer.")


def _recorded(
    session: Session,
    attempt: Attempt,
    name: str,
    result: GradeResult | None,
    with_view: bool,
    replayed: bool,
) -> Recorded:
    """Return the recorded attempt, with the learner's view if asked, noting a reveal in it."""
    result = result or stored_result(attempt)
    view = attempt_view(session, attempt, result) if with_view else None
    if view is not None and view.revealed:  # it names every missed key point, as the reference
        record_reference_view(session, attempt.learner_id, attempt.question_id)
    return Recorded(
        attempt.id, attempt.created_at, attempt.learner_id, name, result, view, replayed
    )


def _limit(session: Session, settings: Settings, learner_id: int, address: str) -> None:
    """Refuse the answer (RateLimited) when the learner or the address is over its limit."""
    by_learner = Bucket("answer-learner", str(learner_id), settings.answer_limit_per_learner)
    by_address = Bucket("answer-address", address, settings.answer_limit_per_address)
    check(session, by_learner, by_address, refusal=TOO_QUICK)
