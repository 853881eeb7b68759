"""Instructor reviews: score overrides and their history, learners' claims, the reveal policy.

An attempt's counted score (``final_score``/``final_points``) starts as the grader's and
changes only here, each change leaving a ``ScoreChange`` row. A rejected claim leaves a row
of kind ``claim-rejected`` with the score unchanged, so its note is kept; a decision's row
shares its claim's ``decided_at`` time, which is how the two are paired.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.models import Attempt, Claim, Instructor, Learner, QuizSetting, ScoreChange, utc_now
from app.validation import InvalidText

OVERRIDE, CLAIM, CLAIM_REJECTED = "override", "claim", "claim-rejected"
# A provisional score settled from the review queue (accepted: old == new), and a re-grade
# that moved an untouched attempt's counted score (app.regrade).
REVIEW, REGRADE = "review", "regrade"
# The kinds that mean an instructor has judged the attempt: its counted score is theirs.
HUMAN_KINDS = (OVERRIDE, CLAIM, CLAIM_REJECTED, REVIEW)
PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
MAX_COMMENT_CHARS = 1000
MAX_JUSTIFICATION_CHARS = 200
MAX_AFTER = 100
REVEAL_KEY = "reveal"
COUNT_PRACTICE_KEY = "count-practice"
CHANGE_LABELS = {
    OVERRIDE: "Score override",
    CLAIM: "Claim accepted",
    CLAIM_REJECTED: "Claim rejected",
    REVIEW: "Reviewed",
    REGRADE: "Re-graded",
}
RevealMode = Literal["first", "after", "released"]

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)$")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_ANY = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class NotClaimable(LookupError):
    """Raised when a claim names a key point the attempt does not have."""


def format_points(value: float) -> str:
    """Write points the way a person would: 7.5, 10, 0.25."""
    return f"{round(value, 2):g}"


def parse_points(raw: object, max_points: float) -> float:
    """Return a score in points, checked against 0..max_points, or raise InvalidText."""
    limit = format_points(max_points)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidText(f"The score must be a number of points from 0 to {limit}, such as 7.5.")
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise InvalidText(f"Enter the score in points, from 0 to {limit}.")
        if not _NUMBER.match(text):
            raise InvalidText(
                f"The score must be a number of points from 0 to {limit}, such as 7.5."
            )
        raw = float(text.replace(",", "."))
    value = float(raw)
    if not math.isfinite(value):
        raise InvalidText(f"The score must be a number of points from 0 to {limit}, such as 7.5.")
    if value < 0:
        raise InvalidText(f"The score cannot be negative: enter 0 to {limit} points.")
    if value > max_points:
        raise InvalidText(f"The score cannot exceed the question's {limit} points.")
    return round(value, 2)


def clean_comment(text: str, what: str, required: bool) -> str:
    """Return a tidied comment or note (line breaks allowed), or raise InvalidText."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _CONTROL_MULTILINE.search(text):
        raise InvalidText(f"The {what} contains control characters; remove them and retry.")
    if required and not text:
        raise InvalidText(f"Write a {what} that explains the change: the learner will read it.")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidText(f"The {what} is too long; use at most {MAX_COMMENT_CHARS} characters.")
    return text


def clean_justification(text: str) -> str:
    """Return a claim's one-line justification, or raise InvalidText saying why."""
    text = text.strip()
    if _CONTROL_ANY.search(text):
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


def override_score(
    session: Session, attempt: Attempt, instructor_id: int, points: float, comment: str
) -> ScoreChange:
    """Set an attempt's counted score in points and record who changed it, when and why."""
    change = ScoreChange(
        attempt_id=attempt.id,
        instructor_id=instructor_id,
        kind=OVERRIDE,
        old_score=attempt.final_score,
        new_score=round(points / attempt.max_points, 4),
        comment=comment,
        created_at=utc_now(),
    )
    attempt.final_score, attempt.final_points = change.new_score, points
    attempt.override_comment = comment
    if attempt.reviewed_at is None:  # a score set by hand settles a provisional one too
        attempt.reviewed_at, attempt.reviewed_by = change.created_at, instructor_id
    session.add(change)
    return change


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of an attempt's score history, as people read it."""

    kind: str
    old_points: float
    new_points: float
    comment: str
    created_at: datetime
    instructor: str | None
    point_text: str | None

    @property
    def label(self) -> str:
        """Name the kind of change."""
        return CHANGE_LABELS.get(self.kind, self.kind)


def score_history(session: Session, attempt: Attempt) -> list[Change]:
    """Return the changes of an attempt's counted score, oldest first, in one query."""
    rows = session.execute(
        select(ScoreChange, Instructor.email, Claim.point_id)
        .outerjoin(Instructor, Instructor.id == ScoreChange.instructor_id)
        .outerjoin(Claim, _decision_of(ScoreChange))
        .where(ScoreChange.attempt_id == attempt.id)
        .order_by(ScoreChange.created_at, ScoreChange.id)
    )
    texts = point_texts(attempt.breakdown)
    return [
        Change(
            kind=change.kind,
            old_points=round(change.old_score * attempt.max_points, 2),
            new_points=round(change.new_score * attempt.max_points, 2),
            comment=change.comment,
            created_at=change.created_at,
            instructor=email,
            point_text=texts.get(point_id) if point_id else None,
        )
        for change, email, point_id in rows
    ]


def _decision_of(change: Any) -> Any:
    """Pair a claim with the score change its decision left."""
    return and_(
        Claim.attempt_id == change.attempt_id,
        Claim.decided_at == change.created_at,
        change.kind.in_((CLAIM, CLAIM_REJECTED)),
    )


def point_texts(breakdown: dict[str, Any]) -> dict[str, str]:
    """Return each key point's text by id, as graded."""
    return {p["id"]: p["text"] for p in breakdown.get("key_points", [])}


def submit_claim(session: Session, attempt: Attempt, point_id: str, justification: str) -> Claim:
    """Queue a learner's claim that their attempt met a key point the grader missed."""
    point = next((p for p in attempt.breakdown["key_points"] if p["id"] == point_id), None)
    if point is None:
        raise NotClaimable(point_id)
    if point["met"]:
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


def claim_queue(
    session: Session, decided_limit: int = 50
) -> tuple[list[ClaimView], list[ClaimView]]:
    """Return every pending claim, oldest first, and the latest decided ones."""
    pending = _claims_query().where(Claim.status == PENDING).order_by(Claim.created_at, Claim.id)
    decided = (
        _claims_query()
        .where(Claim.status != PENDING)
        .order_by(Claim.decided_at.desc(), Claim.id.desc())
        .limit(decided_limit)
    )
    return _claim_views(session, pending), _claim_views(session, decided)


def _claims_query() -> Any:
    return (
        select(Claim, Attempt, Learner.display_name, ScoreChange.comment)
        .join(Attempt, Attempt.id == Claim.attempt_id)
        .join(Learner, Learner.id == Attempt.learner_id)
        .outerjoin(ScoreChange, _decision_of(ScoreChange))
    )


def _claim_views(session: Session, query: Any) -> list[ClaimView]:
    views = []
    for claim, attempt, learner, note in session.execute(query):
        points = {p["id"]: p for p in attempt.breakdown.get("key_points", [])}
        point = points.get(claim.point_id, {"text": claim.point_id, "weight": 0})
        views.append(
            ClaimView(
                id=claim.id,
                attempt_id=attempt.id,
                point_id=claim.point_id,
                point_text=point["text"],
                weight_points=round(_share(attempt, point["weight"]) * attempt.max_points, 2),
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


def _share(attempt: Attempt, weight: float) -> float:
    """Return the part of the whole score one key point's weight is worth."""
    total = attempt.breakdown.get("full_marks_weight") or sum(
        p["weight"] for p in attempt.breakdown.get("key_points", []) if not p.get("optional")
    )
    return weight / total if total else 0.0


def decide_claim(
    session: Session, claim: Claim, instructor_id: int, accept: bool, note: str
) -> None:
    """Accept a pending claim, adding its key point's weight, or reject it with a note."""
    if claim.status != PENDING:
        raise InvalidText(f"This claim was already {claim.status}.")
    attempt = session.get_one(Attempt, claim.attempt_id)
    now = utc_now()
    old = attempt.final_score
    if accept:
        weight = next(
            (p["weight"] for p in attempt.breakdown["key_points"] if p["id"] == claim.point_id), 0
        )
        attempt.final_score = min(1.0, round(old + _share(attempt, weight), 4))
        attempt.final_points = round(attempt.final_score * attempt.max_points, 2)
    claim.status = ACCEPTED if accept else REJECTED
    claim.decided_at, claim.decided_by = now, instructor_id
    session.add(
        ScoreChange(
            attempt_id=attempt.id,
            instructor_id=instructor_id,
            kind=CLAIM if accept else CLAIM_REJECTED,
            old_score=old,
            new_score=attempt.final_score,
            comment=note,
            created_at=now,
        )
    )


@dataclass(frozen=True, slots=True)
class RevealPolicy:
    """When learners see a question's reference answer; scores and feedback always show."""

    mode: RevealMode = "first"
    after: int = 2
    released: bool = False

    def shows(self, attempts: int) -> bool:
        """Tell whether a learner with this many attempts at a question sees the answer."""
        if self.mode == "after":
            return attempts >= self.after
        if self.mode == "released":
            return self.released
        return attempts >= 1

    def waiting_message(self, attempts: int) -> str:
        """Say when the reference answer will appear."""
        if self.mode == "after":
            left = self.after - attempts
            return (
                f"The reference answer appears after {self.after} attempts at this question; "
                f"{left} more to go."
            )
        return "The reference answer will appear here once your instructor releases it."


def get_reveal_policy(session: Session) -> RevealPolicy:
    """Return the stored reveal policy, or the default (after the first attempt)."""
    stored = session.get(QuizSetting, REVEAL_KEY)
    value = stored.value if stored is not None and isinstance(stored.value, dict) else {}
    mode = value.get("mode")
    after = value.get("after")
    return RevealPolicy(
        mode=mode if mode in ("first", "after", "released") else "first",
        after=after if isinstance(after, int) and 1 <= after <= MAX_AFTER else 2,
        released=value.get("released") is True,
    )


def parse_reveal_form(mode: str, after: str, released: bool) -> RevealPolicy:
    """Return the policy chosen on the settings form, or raise InvalidText."""
    if mode not in ("first", "after", "released"):
        raise InvalidText("Choose when learners see the reference answer.")
    text = after.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_AFTER:
        raise InvalidText(f"The number of attempts must be a whole number from 1 to {MAX_AFTER}.")
    chosen: RevealMode = mode  # type: ignore[assignment]
    return RevealPolicy(mode=chosen, after=int(text), released=released)


def save_reveal_policy(session: Session, policy: RevealPolicy) -> None:
    """Store the reveal policy."""
    value = {"mode": policy.mode, "after": policy.after, "released": policy.released}
    session.merge(QuizSetting(key=REVEAL_KEY, value=value))


def get_count_practice(session: Session) -> bool:
    """Tell whether attempts made after seeing the reference answer count; by default not."""
    stored = session.get(QuizSetting, COUNT_PRACTICE_KEY)
    return stored is not None and stored.value is True


def save_count_practice(session: Session, value: bool) -> None:
    """Store whether practice attempts count towards the best score."""
    session.merge(QuizSetting(key=COUNT_PRACTICE_KEY, value=value))


def attempts_at(session: Session, learner_id: int, question_id: str) -> int:
    """Return how many attempts a learner has made at one question."""
    query = select(func.count(Attempt.id)).where(
        Attempt.learner_id == learner_id, Attempt.question_id == question_id
    )
    return int(session.scalar(query) or 0)


def other_attempts(session: Session, attempt: Attempt) -> list[tuple[int, float, datetime]]:
    """Return the learner's attempts at the same question: id, counted score, time."""
    rows = session.execute(
        select(Attempt.id, Attempt.final_score, Attempt.created_at)
        .where(Attempt.learner_id == attempt.learner_id, Attempt.question_id == attempt.question_id)
        .order_by(Attempt.id.desc())
    )
    return [(row[0], row[1], row[2]) for row in rows]
