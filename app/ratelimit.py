"""Login rate limits, counted in the database so that every web process shares them."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import LoginAttempt, RateLimitHit, utc_now


def login_wait_seconds(session: Session, settings: Settings, account: str, address: str) -> int:
    """Return how long this account or address must wait before trying again (0: not)."""
    window = timedelta(minutes=settings.login_window_minutes)
    by_account = LoginAttempt.account == account
    by_address = LoginAttempt.address == address
    return max(
        _wait(session, by_account, settings.login_max_per_account, window),
        _wait(session, by_address, settings.login_max_per_address, window),
    )


def _wait(session: Session, which: ColumnElement[bool], limit: int, window: timedelta) -> int:
    """Seconds until the oldest of the last ``limit`` failures leaves the window."""
    now = utc_now()
    recent = (
        select(LoginAttempt.created_at)
        .where(which, LoginAttempt.created_at > now - window)
        .order_by(LoginAttempt.created_at.desc())
        .limit(limit)
        .subquery()
    )
    count, oldest = session.execute(select(func.count(), func.min(recent.c.created_at))).one()
    return _seconds_left(count, oldest, limit, window, now)


def _seconds_left(
    count: int, oldest: datetime | None, limit: int, window: timedelta, now: datetime
) -> int:
    """Seconds until the oldest of ``count`` counted requests leaves the window (0: allowed)."""
    if count < limit or oldest is None:
        return 0
    if oldest.tzinfo is None:  # SQLite hands back naive values from a subquery
        oldest = oldest.replace(tzinfo=now.tzinfo)
    remaining: timedelta = oldest + window - now
    return max(1, math.ceil(remaining.total_seconds()))


def record_failure(session: Session, account: str, address: str) -> None:
    """Count one failed login."""
    session.add(LoginAttempt(account=account[:254], address=address[:64]))


def forget_failures(session: Session, account: str) -> None:
    """Clear an account's failures after it signs in."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.account == account))


# Built once: every answer and live demo takes two counts inside the write lock, where
# composing the statements would cost more than running them.
_RECENT_HITS = (
    select(RateLimitHit.created_at)
    .where(
        RateLimitHit.bucket == bindparam("bucket"),
        RateLimitHit.key == bindparam("key"),
        RateLimitHit.created_at > bindparam("since", type_=RateLimitHit.created_at.type),
    )
    .order_by(RateLimitHit.created_at.desc())
    .limit(bindparam("limit"))
    .subquery()
)
_COUNT_RECENT = select(func.count(), func.min(_RECENT_HITS.c.created_at))
_ADD_HIT = insert(RateLimitHit)


def take(session: Session, bucket: str, key: str, limit: int, window: timedelta) -> int:
    """Count one request against a sliding window; return 0 if allowed, else seconds to wait.

    The counter lives in the database, so every web process shares it. Call it inside a
    write transaction (Database.writing), which serialises concurrent takers. A refused
    request is not counted, so a client that waits as told gets through.
    """
    now = utc_now()
    key = key[:200]
    found = {"bucket": bucket, "key": key, "since": now - window, "limit": limit}
    connection = session.connection()  # Core statements: the ORM has nothing to add here
    count, oldest = connection.execute(_COUNT_RECENT, found).one()
    if wait := _seconds_left(count, oldest, limit, window, now):
        return wait
    connection.execute(_ADD_HIT, [{"bucket": bucket, "key": key, "created_at": now}])
    return 0


def prune(session: Session, older_than: timedelta) -> None:
    """Delete counted requests that no window can still see."""
    session.execute(delete(RateLimitHit).where(RateLimitHit.created_at < utc_now() - older_than))
