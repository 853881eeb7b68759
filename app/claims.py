"""Learners' claims that their answer met a key point the grader missed, and their decisions.

A claim names one missed key point with a one-line justification; an instructor accepts it
(the point's share of the score is added) or rejects it with a note. Either way the
decision leaves a score change (app.overrides) that the claim points to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.evidence import stored_result
from app.grading import GradeResult
from app.models import Attempt, ChangeKind, Claim, Learner, ScoreChange, utc_now
from app.overrides import record_change
from app.text import has_control, has_surrogate
from app.validation import InvalidText

PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
MAX_JUSTIFICATION_CHARS = 200


class NotClaimable(LookupError):
    """Raised when a claim names a key point the attempt does not have."""


def clean_justification(text: str) -> str:
    """Return a claim's one-line justification, or raise InvalidText saying why."""
    text = text.strip()
    if has_control(text, single_line=True) or has_surrogate(text):
        raise InvalidText(
            "The justification must be a single line without control characters or line breaks."
        )
    if not text:
        raise InvalidText("Write one line saying where your answer makes this point.")
    if len(text) > MAX_JUSTIFICATION_CHARS:
        raise InvalidText(
            f"The justification is {len(text)} characters long; "
            f"the limit is {MAX_JUSTIFICATION_CHARS}."
        )
    return text


def submit_claim(session: Session, attempt: Attempt, point_id: str, justification: str) -> Claim:
    """Queue a learner's claim that their attempt met a key point the grader missed."""
    result = stored_result(attempt)
    point = next((p for p in result.key_points if p.id == point_id), None)
    if point is None:
        raise NotClaimable(point_id)
    if point.met:
        raise InvalidText("This key point is already met: only missed points can be claimed.")
    taken = select(Claim.id).where(Claim.attempt_id == attempt.id, Claim.point_id == point_id)
    if session.scalar(taken) is not None:
        raise InvalidText("You have already claimed this key point; wait for the decision.")
    claim = Claim(
        attempt_id=attempt.id, point_id=point_id, justification=clean_justification(justification)
    )
    session.add(claim)
    return claim


@dataclass(frozen=True, slots=True)
class ClaimView:
    """A claim with what the instructor decided, for the learner and the queue."""

    id: int
    attempt_id: int
    point_id: str
    point_text: str
    weight_points: float
    justification: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    note: str
    learner: str = ""
    question_number: int = 0
    answer: str = ""
    counted_points: float = 0.0
    max_points: float = 0.0


def claims_for_attempt(session: Session, attempt: Attempt) -> dict[str, ClaimView]:
    """Return an attempt's claims by key point id."""
    query = _claims_query().where(Claim.attempt_id == attempt.id)
    return {view.point_id: view for view in _claim_views(session, query)}


CLAIMS_PER_PAGE = 50  # a claim shows its whole answer: 414 on one page made 4.6 MB


@dataclass(frozen=True, slots=True)
class ClaimQueue:
    """One page of the pending claims, oldest first, with the latest decided ones."""

    pending: list[ClaimView]
    waiting: int  # pending claims in all, on every page
    page: int
    pages: int
    decided: list[ClaimView]


def claim_queue(
    session: Session, page: int = 1, per_page: int = CLAIMS_PER_PAGE, decided_limit: int = 50
) -> ClaimQueue:
    """Return a page of the pending claims (past the last: the last) and recent decisions."""
    waiting = session.scalar(select(func.count()).where(Claim.status == PENDING)) or 0
    pages = max(1, math.ceil(waiting / per_page))
    page = min(page, pages)
    pending = (
        _claims_query()
        .where(Claim.status == PENDING)
        .order_by(Claim.created_at, Claim.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    decided = (
        _claims_query()
        .where(Claim.status != PENDING)
        .order_by(Claim.decided_at.desc(), Claim.id.desc())
        .limit(decided_limit)
    )
    return ClaimQueue(
        _claim_views(session, pending), waiting, page, pages, _claim_views(session, decided)
    )


def _claims_query() -> Any:
    return (
        select(Claim, Attempt, Learner.display_name, ScoreChange.comment)
        .join(Attempt, Attempt.id == Claim.attempt_id)
        .join(Learner, Learner.id == Attempt.learner_id)
        .outerjoin(ScoreChange, ScoreChange.id == Claim.score_change_id)
    )


def _claim_views(session: Session, query: Any) -> list[ClaimView]:
    views = []
    for claim, attempt, learner, note in session.execute(query):
        result = stored_result(attempt)
        point = next((p for p in result.key_points if p.id == claim.point_id), None)
        views.append(
            ClaimView(
                id=claim.id,
                attempt_id=attempt.id,
                point_id=claim.point_id,
                point_text=point.text if point else claim.point_id,
                weight_points=round(
                    _share(result, point.weight if point else 0) * attempt.max_points, 2
                ),
                justification=claim.justification,
                status=claim.status,
                created_at=claim.created_at,
                decided_at=claim.decided_at,
                note=note or "",
                learner=learner,
                question_number=attempt.question_number,
                answer=attempt.text,
                counted_points=attempt.final_points,
                max_points=attempt.max_points,
            )
        )
    return views


def _share(result: GradeResult, weight: float) -> float:
    """Return the part of the whole score one key point's weight is worth."""
    total = result.full_marks_weight or sum(p.weight for p in result.key_points if not p.optional)
    return weight / total if total else 0.0


def decide_claim(
    session: Session, claim: Claim, instructor_id: int, accept: bool, note: str
) -> None:
    """Accept a pending claim, adding its key point's weight, or reject it with a note."""
    if claim.status != PENDING:
        raise InvalidText(f"This claim was already {claim.status}.")
    attempt = session.get_one(Attempt, claim.attempt_id)
    now = utc_now()
    score, points = attempt.final_score, attempt.final_points
    if accept:
        result = stored_result(attempt)
        weight = next((p.weight for p in result.key_points if p.id == claim.point_id), 0)
        score = min(1.0, round(score + _share(result, weight), 4))
        points = round(score * attempt.max_points, 2)
    kind = ChangeKind.CLAIM if accept else ChangeKind.CLAIM_REJECTED
    claim.score_change = record_change(
        session, attempt, kind, instructor_id, (score, points), note, now
    )
    claim.status = ACCEPTED if accept else REJECTED
    claim.decided_at, claim.decided_by = now, instructor_id
