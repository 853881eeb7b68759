"""One rate limiter for answers, live demos, the playground and sign-ins.

Every counted request is a row of ``rate_limit_hit``, so every web process shares the
counts. Call ``check`` inside a write transaction (``Database.writing``), which serialises
concurrent callers; a refused request is not counted, so a client that waits as told gets
through. ``InFlight`` bounds what is running at once rather than what started per minute.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from datetime import datetime, timedelta
from types import TracebackType
from typing import NamedTuple

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from app.models import RateLimitHit, utc_now

MINUTE = timedelta(minutes=1)


class Bucket(NamedTuple):
    """One sliding window: what it counts, whose requests, how many, over how long."""

    name: str  # what it counts: "answer-learner", "demo-address", "login-account", ...
    key: str  # whose requests: a learner's id, an address, a browser session, an account
    limit: int
    window: timedelta = MINUTE


class RateLimited(Exception):
    """Raised with the message to show and the seconds to wait; answered 429 + Retry-After."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def check(session: Session, *buckets: Bucket, refusal: str, count: bool = True) -> None:
    """Count one request in every bucket, or raise RateLimited if any of them is full.

    ``refusal`` is the message, formatted with ``seconds`` and ``minutes`` to wait. With
    ``count`` off the buckets are only looked at, for limits that count failures (sign-ins)
    with ``record`` once the outcome is known.
    """
    now = utc_now()
    wait = max(_seconds_left(session, bucket, now) for bucket in buckets)
    if wait:
        minutes = max(1, round(wait / 60))
        raise RateLimited(refusal.format(seconds=wait, minutes=minutes), wait)
    if count:
        record(session, *buckets)


def record(session: Session, *buckets: Bucket) -> None:
    """Count one request in each bucket, allowed or not."""
    now = utc_now()
    hits = [{"bucket": b.name, "key": b.key[:200], "created_at": now} for b in buckets]
    # Core on the session's connection, like the count below: nothing reads these back as
    # objects, and the ORM's unit of work would add about 0.3 ms inside the write lock.
    session.connection().execute(insert(RateLimitHit), hits)


def forget(session: Session, bucket: Bucket) -> None:
    """Clear a bucket's count for its key (a sign-in that succeeds clears its failures)."""
    session.execute(
        delete(RateLimitHit).where(
            RateLimitHit.bucket == bucket.name, RateLimitHit.key == bucket.key[:200]
        )
    )


def prune(session: Session, older_than: timedelta) -> None:
    """Delete counted requests that no window can still see."""
    session.execute(delete(RateLimitHit).where(RateLimitHit.created_at < utc_now() - older_than))


# Built once, unlike the app's other statements: composing it and working out its cache
# key cost about 1 ms per bucket (bench.request_costs, "live demo: rate-limit transaction":
# 1.2 ms built once, 7 ms composed per call), spent inside the write lock every answer and
# live demo waits on.
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


def _seconds_left(session: Session, bucket: Bucket, now: datetime) -> int:
    """Seconds until the oldest of the last ``limit`` hits leaves the window (0: allowed)."""
    found = {
        "bucket": bucket.name,
        "key": bucket.key[:200],
        "since": now - bucket.window,
        "limit": bucket.limit,
    }
    count, oldest = session.connection().execute(_COUNT_RECENT, found).one()  # Core, as in record()
    if count < bucket.limit or oldest is None:
        return 0
    if oldest.tzinfo is None:  # SQLite hands back naive values from a subquery
        oldest = oldest.replace(tzinfo=now.tzinfo)
    remaining: timedelta = oldest + bucket.window - now
    return max(1, math.ceil(remaining.total_seconds()))


class InFlight:
    """Requests in progress per key (a client address), at most ``cap`` at once.

    Held in this process's memory, not in the database: a slot must come back even when a
    run ends badly, which a ``finally`` in the same process guarantees and a row would not
    (a killed process would leave it behind). With several web processes each has its own.
    """

    def __init__(self, cap: int, retry_after: int = 2) -> None:
        self.cap = cap
        self.retry_after = retry_after
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, key: str, refusal: str) -> Slot:
        """Take a slot for ``key``, or raise RateLimited (``refusal`` gets ``cap``)."""
        with self._lock:
            if self._held[key] >= self.cap:
                raise RateLimited(refusal.format(cap=self.cap), self.retry_after)
            self._held[key] += 1
        return Slot(self, key)

    def _give_back(self, key: str) -> None:
        with self._lock:
            self._held[key] -= 1
            if self._held[key] <= 0:
                del self._held[key]  # the counter must not grow with every address seen


class Slot:
    """One taken slot; given back once, on ``release`` or at the end of a ``with``."""

    def __init__(self, owner: InFlight, key: str) -> None:
        self._owner, self._key = owner, key
        self._released = False
        self._lock = threading.Lock()

    def release(self) -> None:
        """Give the slot back; later calls do nothing."""
        with self._lock:
            if self._released:
                return
            self._released = True
        self._owner._give_back(self._key)

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()
