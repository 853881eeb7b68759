"""FastAPI dependencies: settings, questions, database sessions and the current learner.

FastAPI runs a plain ``def`` dependency in its thread pool, a hand-off that costs more than
these lookups in ``app.state``; those that do no I/O are therefore ``async def`` and run
inline, and only database work goes to a thread. Measured (bench.request_costs): as plain
``def`` they take GET /questions/3 from 1.4-1.8 ms to 2.5-2.9 ms and a cached demo from
1.0 ms to 1.6-2.7 ms, the two pages a class opens most.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, cast

import anyio.to_thread
from anyio import CancelScope, CapacityLimiter
from fastapi import Depends, HTTPException, Path, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.db import Database
from app.demos.protocol import DemoRunner
from app.learners import resolve_session
from app.metrics import Metrics
from app.models import Learner
from app.questions import QuestionBank
from app.schema import Demo, Question

SESSION_KEY = "learner_session"  # the random token of a server-side learner session
LEARNER_KEY = "learner_id"  # what cookies held before server-side sessions
# Ids are 32-bit on PostgreSQL (SERIAL) and 64-bit on SQLite: a larger one cannot exist, and
# passed on to the database it fails there (500) instead of finding nothing.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row's id.")]
RowIdField = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]  # the same, in a body or form


async def get_settings(request: Request) -> Settings:
    """Return the app's settings."""
    return cast(Settings, request.app.state.settings)


async def get_bank(request: Request) -> QuestionBank:
    """Return the loaded questions."""
    return cast(QuestionBank, request.app.state.bank)


async def get_database(request: Request) -> Database:
    """Return the database, for routes that own a write transaction."""
    return cast(Database, request.app.state.db)


async def get_pool(request: Request) -> DemoRunner:
    """Return the app's pool of TensorFlow workers."""
    return cast(DemoRunner, request.app.state.pool)


async def read_session(
    database: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[Session]:
    """Yield a read-only session for the request; it connects on its first query."""
    session = database.read_session()
    try:
        yield session
    finally:
        if session.in_transaction():
            # Handing the connection back is a rollback: I/O, so in a thread. Like FastAPI's
            # own exits, with a limiter of its own and shielded from cancellation: were it
            # to queue for the shared thread pool, a full pool of requests waiting for a
            # database connection would wait for ever on the connections held here.
            with CancelScope(shield=True):
                await anyio.to_thread.run_sync(session.close, limiter=CapacityLimiter(1))
        else:
            session.close()


async def get_metrics(request: Request) -> Metrics:
    """Return the app's metrics, for routes that count what happened."""
    return cast(Metrics, request.app.state.metrics)


SettingsDep = Annotated[Settings, Depends(get_settings)]
BankDep = Annotated[QuestionBank, Depends(get_bank)]
DatabaseDep = Annotated[Database, Depends(get_database)]
ReadSession = Annotated[Session, Depends(read_session)]
PoolDep = Annotated[DemoRunner, Depends(get_pool)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


async def question_by_number(n: int, bank: BankDep) -> Question:
    """Return question ``n`` or answer 404 naming the valid range."""
    question = bank.questions.get(n)
    if question is None:
        raise HTTPException(404, detail=f"There is no question {n}. {describe_range(bank)}")
    return question


QuestionDep = Annotated[Question, Depends(question_by_number)]


async def demo_by_index(question: QuestionDep, k: int) -> Demo:
    """Return demo ``k`` (1-based) of the question, or answer 404 saying which exist."""
    if 1 <= k <= len(question.demos):
        return question.demos[k - 1]
    count = len(question.demos)
    detail = f"Question {question.number} has no demo {k}; it has demos 1 to {count}."
    raise HTTPException(404, detail=detail)


DemoDep = Annotated[Demo, Depends(demo_by_index)]


def describe_range(bank: QuestionBank) -> str:
    """Say which question numbers exist, for error messages."""
    numbers = sorted(bank.questions)
    if not numbers:
        return "No questions are loaded."
    return f"Questions are numbered {numbers[0]} to {numbers[-1]}."


def session_cookie_invalid(request: Request, settings: Settings) -> bool:
    """Tell whether the browser sent a session cookie whose signature did not verify."""
    return settings.session_cookie in request.cookies and not request.session


async def current_learner(
    request: Request, session: ReadSession, settings: SettingsDep
) -> Learner | None:
    """Return the learner of this browser's server-side session, if it is still open.

    A cookie from before server-side sessions names a learner id: it is not a session,
    and the start page offers that learner a sign-in code (see ``legacy_learner_id``).
    """
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    max_age = timedelta(days=settings.session_max_age_days)
    learner = await run_in_threadpool(_find_learner, session, token, max_age)
    if learner is None:
        request.session.pop(SESSION_KEY, None)  # ended by "Leave" elsewhere or an instructor
        request.state.session_ended = True
    return learner


def _find_learner(session: Session, token: str, max_age: timedelta) -> Learner | None:
    """Look the learner up, then end the read transaction, keeping the learner loaded.

    The request waits for another thread next: holding a connection meanwhile could leave
    every thread waiting for a connection and every connection waiting for a thread.
    """
    learner = resolve_session(session, token, max_age)
    session.commit()  # writes nothing; hands the connection back (expire_on_commit is off)
    return learner


def learner_session_token(request: Request) -> str | None:
    """Return this browser's learner session token, to end when it signs in anew."""
    token = request.session.get(SESSION_KEY)
    return token if isinstance(token, str) else None


def keep_learner_session(request: Request, token: str) -> None:
    """Put a fresh learner session's token in the signed cookie, dropping an old-style id."""
    request.session.pop(LEARNER_KEY, None)
    request.session[SESSION_KEY] = token


def legacy_learner_id(request: Request) -> int | None:
    """Return the learner id an old cookie (before migration 0010) carries, if any."""
    learner_id = request.session.get(LEARNER_KEY)
    return learner_id if isinstance(learner_id, int) else None


LearnerDep = Annotated[Learner | None, Depends(current_learner)]


def client_address(request: Request) -> str:
    """Return the peer address (uvicorn applies X-Forwarded-For only from trusted proxies)."""
    return request.client.host if request.client else "unknown"
