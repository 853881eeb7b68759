"""Sweeping what nothing can use any more: old rate-limit counts and expired sessions.

Every counted request and every sign-in leaves a row; without a sweep a busy term grows
those tables (and the indexes every answer's rate-limit check reads) without bound. Each
web process sweeps on a timer; the deletes are idempotent, so several processes, or
``tfquiz prune`` run by hand, do no harm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete, or_
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.models import InstructorSession, LearnerSession, RateLimitHit, utc_now
from app.periodic import Periodic
from app.ratelimit import MINUTE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Swept:
    """How many rows one sweep deleted, per kind."""

    rate_limit_hits: int
    learner_sessions: int
    instructor_sessions: int

    def __str__(self) -> str:
        return (
            f"{self.rate_limit_hits} rate-limit counts, {self.learner_sessions} learner"
            f" sessions, {self.instructor_sessions} instructor sessions"
        )


def longest_window(settings: Settings) -> timedelta:
    """Return the longest window any rate limit looks back over (app/ratelimit.py)."""
    return max(
        MINUTE,
        timedelta(minutes=settings.signin_window_minutes),
        timedelta(minutes=settings.login_window_minutes),
    )


def sweep(session: Session, settings: Settings, now: datetime | None = None) -> Swept:
    """Delete rate-limit counts no window can see and sessions that no longer sign anyone in."""
    now = now or utc_now()
    hits = _deleted(
        session,
        delete(RateLimitHit).where(RateLimitHit.created_at < now - longest_window(settings)),
    )
    learners = _deleted(
        session,
        delete(LearnerSession).where(
            LearnerSession.created_at < now - timedelta(days=settings.session_max_age_days)
        ),
    )
    instructors = _deleted(
        session,
        delete(InstructorSession).where(
            or_(
                InstructorSession.last_seen_at
                < now - timedelta(minutes=settings.instructor_idle_minutes),
                InstructorSession.created_at
                < now - timedelta(hours=settings.instructor_session_hours),
            )
        ),
    )
    return Swept(hits, learners, instructors)


def _deleted(session: Session, statement: Delete) -> int:
    """Run a DELETE and return how many rows it took."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


class Sweeper:
    """Sweeps every ``TFQUIZ_HOUSEKEEPING_MINUTES`` in a thread of its own (0: never)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database, self._settings = database, settings
        minutes = settings.housekeeping_minutes
        self._thread = (
            Periodic("housekeeping", minutes * 60, self.sweep_now, log) if minutes else None
        )

    def start(self) -> None:
        """Start sweeping (once, however often the app's lifespan starts)."""
        if self._thread is not None:
            self._thread.start()

    def close(self) -> None:
        """Stop sweeping."""
        if self._thread is not None:
            self._thread.close(10)

    @property
    def running(self) -> bool:
        """Tell whether the sweeping thread is alive."""
        return self._thread is not None and self._thread.running

    def sweep_now(self) -> None:
        """Do one sweep and log what it deleted."""
        with self._database.writing() as session:
            swept = sweep(session, self._settings)
        log.info("housekeeping deleted %s", swept)
