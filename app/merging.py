"""Merge two learner records that are one person, keeping every attempt.

Everything that hangs off an attempt (key points, misconceptions, claims, reviews, score
changes) moves with it; the rest that names a learner is decided table by table below, and
a test holds every table with a foreign key to ``learner`` to that decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.models import Attempt, Learner, LearnerMerge, LtiUser, ReferenceView, RosterEntry
from app.validation import InvalidText

# Rows that move to the kept learner (or are reconciled with theirs).
MOVED = frozenset({"attempt", "reference_view", "roster_entry", "lti_user"})
# Rows that go with the merged record (their foreign keys cascade): what only made sense
# for it. Its code stops working and its browsers are signed out: the kept learner's own
# code is the way in, so a wrong merge hands nobody the kept record.
DROPPED = frozenset({"learner_identity", "learner_session"})
# Rows that point at the kept learner by design.
KEPT = frozenset({"learner_merge"})


class MergeRefused(InvalidText):
    """Raised when a merge cannot be done; the message says why, and nothing changed."""


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What a merge did: who was kept, who was merged away, how many attempts moved."""

    kept_id: int
    kept_name: str
    merged_id: int
    merged_name: str
    attempts_moved: int


@dataclass(frozen=True, slots=True)
class MergeCandidate:
    """One side of a merge as the confirmation shows it."""

    learner_id: int
    name: str
    email: str | None
    attempts: int


def merge_candidates(
    session: Session, merged_id: int, kept_id: int
) -> tuple[MergeCandidate, MergeCandidate]:
    """Return both learners of a proposed merge, or raise MergeRefused saying why not."""
    if merged_id == kept_id:
        raise MergeRefused("A learner cannot be merged into themselves: choose two learners.")
    return _candidate(session, merged_id), _candidate(session, kept_id)


def _candidate(session: Session, learner_id: int) -> MergeCandidate:
    learner = session.get(Learner, learner_id)
    if learner is None:
        raise MergeRefused(f"There is no learner {learner_id}; the dashboard links to each one.")
    attempts = session.scalar(
        select(func.count(Attempt.id)).where(Attempt.learner_id == learner_id)
    )
    return MergeCandidate(learner.id, learner.display_name, learner.email, int(attempts or 0))


def merge_learners(
    session: Session, merged_id: int, kept_id: int, instructor_id: int | None = None
) -> MergeResult:
    """Move everything of one learner to another and delete the first; the caller commits.

    Run inside one write transaction (``Database.writing``): a failure anywhere leaves
    both records as they were, and no answer can be recorded for either half-way.
    """
    merged, kept = merge_candidates(session, merged_id, kept_id)
    _move_attempts(session, merged_id, kept_id)
    _move_reference_views(session, merged_id, kept_id)
    # An LMS account launches the kept record from now on, and its scores are the kept one's.
    session.execute(
        update(LtiUser).where(LtiUser.learner_id == merged_id).values(learner_id=kept_id)
    )
    if session.get(RosterEntry, merged_id) is not None:
        session.execute(delete(RosterEntry).where(RosterEntry.learner_id == merged_id))
        if session.get(RosterEntry, kept_id) is None:
            session.add(RosterEntry(learner_id=kept_id))
    kept_row = session.get_one(Learner, kept_id)
    if kept_row.email is None and merged.email is not None:
        kept_row.email = merged.email  # contact data only: the kept learner had none
    session.add(
        LearnerMerge(
            kept_id=kept_id,
            merged_id=merged_id,
            merged_name=merged.name,
            attempts_moved=merged.attempts,
            instructor_id=instructor_id,
        )
    )
    session.flush()
    # Core, not session.delete: the ORM would first null the attempts it still holds.
    session.execute(delete(Learner).where(Learner.id == merged_id))
    session.expire_all()
    return MergeResult(kept_id, kept.name, merged_id, merged.name, merged.attempts)


def _move_attempts(session: Session, merged_id: int, kept_id: int) -> None:
    """Move every attempt; an idempotency key both used is dropped from the moved one.

    A key only replays a retried answer, and one key per learner is the rule: the kept
    learner's answer keeps the key.
    """
    kept_keys = select(Attempt.idempotency_key).where(
        Attempt.learner_id == kept_id, Attempt.idempotency_key.is_not(None)
    )
    session.execute(
        update(Attempt)
        .where(Attempt.learner_id == merged_id, Attempt.idempotency_key.in_(kept_keys))
        .values(idempotency_key=None)
    )
    session.execute(
        update(Attempt).where(Attempt.learner_id == merged_id).values(learner_id=kept_id)
    )


def _move_reference_views(session: Session, merged_id: int, kept_id: int) -> None:
    """Keep the earlier sight of each reference answer, so practice stays practice."""
    both = ReferenceView.learner_id.in_((merged_id, kept_id))
    first: dict[str, datetime] = {}
    for question_id, seen_at in session.execute(
        select(ReferenceView.question_id, ReferenceView.seen_at).where(both)
    ):
        if question_id not in first or seen_at < first[question_id]:
            first[question_id] = seen_at
    # Core throughout: the rows are replaced, and no ORM object of theirs is held.
    session.execute(delete(ReferenceView).where(both))
    if first:
        rows = [{"learner_id": kept_id, "question_id": q, "seen_at": at} for q, at in first.items()]
        session.execute(insert(ReferenceView), rows)
