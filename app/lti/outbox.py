"""The outbox of scores for platforms: written beside the change, sent later by the sender.

A changed score only adds a row here, in the transaction that changed it, so an answer
never waits for an LMS. The sender reads the counted score when it sends, so several
changes before a send cost one request and the platform always gets the latest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Learner, LtiLink, LtiLinkUser, LtiScoreSend, LtiUser, utc_now

LEASE = timedelta(minutes=2)  # a row being sent is not due again before this
MAX_BACKOFF = timedelta(hours=6)
BATCH = 20


def score_changed(session: Session, learner_id: int, question_id: str) -> None:
    """Queue the scores a change of this learner's counted score on a question moves."""
    rows = session.execute(
        select(LtiLink, LtiUser.id)
        .join(LtiLinkUser, LtiLinkUser.link_id == LtiLink.id)
        .join(LtiUser, LtiUser.id == LtiLinkUser.lti_user_id)
        .where(LtiUser.learner_id == learner_id)
    ).all()
    for link, user_id in rows:
        if link.question_id is not None and link.question_id != question_id:
            continue  # a link to another question
        target = None if link.question_id is None and link.grade_mode == "total" else question_id
        _queue(session, link.id, user_id, target)


def _queue(session: Session, link_id: int, user_id: int, question_id: str | None) -> None:
    """Add a row unless one not yet tried is waiting: it will read the score afresh anyway.

    A row already tried may be on its way with a score read before this change: the new
    row makes sure the change is sent too.
    """
    waiting = session.scalars(
        select(LtiScoreSend.id).where(
            LtiScoreSend.link_id == link_id,
            LtiScoreSend.lti_user_id == user_id,
            LtiScoreSend.question_id.is_(None)
            if question_id is None
            else LtiScoreSend.question_id == question_id,
            LtiScoreSend.status == "pending",
            LtiScoreSend.tries == 0,
        )
    ).first()
    if waiting is None:
        session.add(LtiScoreSend(link_id=link_id, lti_user_id=user_id, question_id=question_id))


def claim_due(session: Session, now: datetime | None = None) -> list[int]:
    """Take the rows due now (counting a try, leased for a while); return their ids."""
    now = now or utc_now()
    rows = list(
        session.scalars(
            select(LtiScoreSend)
            .where(LtiScoreSend.status == "pending", LtiScoreSend.next_try_at <= now)
            .order_by(LtiScoreSend.id)
            .limit(BATCH)
        )
    )
    for row in rows:
        row.tries += 1
        row.next_try_at = now + LEASE
    return [row.id for row in rows]


def mark_sent(session: Session, row_id: int, given: float, maximum: float) -> None:
    """Record what the platform accepted."""
    row = session.get(LtiScoreSend, row_id)
    if row is not None:
        row.status, row.sent_at, row.last_error = "sent", utc_now(), None
        row.score_given, row.score_maximum = given, maximum


def mark_failed(session: Session, row_id: int, error: str, base: timedelta, max_tries: int) -> None:
    """Record a failed try: due again after an exponential back-off, or failed for good."""
    row = session.get(LtiScoreSend, row_id)
    if row is None:
        return
    row.last_error = error[:2000]
    if row.tries >= max_tries:
        row.status = "failed"
        return
    row.next_try_at = utc_now() + min(base * 2 ** (row.tries - 1), MAX_BACKOFF)


def retry_failed(session: Session) -> int:
    """Put every row that failed for good back in the queue; return how many."""
    rows = list(session.scalars(select(LtiScoreSend).where(LtiScoreSend.status == "failed")))
    for row in rows:
        row.status, row.tries, row.next_try_at = "pending", 0, utc_now()
    return len(rows)


@dataclass(frozen=True)
class SendView:
    """One row of the instructor's list of scores sent and not sent."""

    id: int
    learner: str
    link: str
    question_id: str | None
    status: str
    tries: int
    score: str
    error: str | None
    when: datetime


def recent_sends(session: Session, limit: int = 50) -> list[SendView]:
    """Return the newest rows of the outbox, for the instructor to see what went where."""
    rows = session.execute(
        select(LtiScoreSend, Learner.display_name, LtiLink.title, LtiLink.resource_link_id)
        .join(LtiUser, LtiUser.id == LtiScoreSend.lti_user_id)
        .outerjoin(Learner, Learner.id == LtiUser.learner_id)
        .join(LtiLink, LtiLink.id == LtiScoreSend.link_id)
        .order_by(LtiScoreSend.id.desc())
        .limit(limit)
    ).all()
    return [
        SendView(
            row.id,
            name or "(learner removed)",
            title or resource_link_id,
            row.question_id,
            row.status,
            row.tries,
            f"{row.score_given:g} / {row.score_maximum:g}" if row.score_given is not None else "",
            row.last_error,
            row.sent_at or row.created_at,
        )
        for row, name, title, resource_link_id in rows
    ]
