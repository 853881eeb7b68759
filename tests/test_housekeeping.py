"""Sweeping expired sessions and old rate-limit counts, on the real database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.config import Settings
from app.housekeeping import Sweeper, sweep
from app.instructors import create_instructor, digest, start_session
from app.learners import create_learner, open_session, resolve_session
from app.models import InstructorSession, LearnerSession, RateLimitHit, utc_now
from app.ratelimit import Bucket, record
from tests.factories import answer_page, continue_as, start_with_code


def _count(app: FastAPI, model: type) -> int:
    with app.state.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_sweep_deletes_only_what_nothing_can_use(app: FastAPI, settings: Settings) -> None:
    now = utc_now()
    with app.state.db.writing() as session:
        learner = create_learner(session, "Ada", None, None)
        session.flush()
        old_token, live_token = open_session(session, learner.id), open_session(session, learner.id)
        teacher = create_instructor(session, "t@example.org", "correct horse battery")
        session.flush()
        idle_id, fresh_id = start_session(session, teacher), start_session(session, teacher)
        record(session, Bucket("answer-learner", "1", 10))
        stale = Bucket("signin-name", "ada", 5, timedelta(minutes=settings.signin_window_minutes))
        record(session, stale)
    with app.state.db.writing() as session:
        ago = lambda **delta: now - timedelta(**delta)  # noqa: E731
        session.execute(
            update(LearnerSession)
            .where(LearnerSession.id_hash == _hash(old_token))
            .values(created_at=ago(days=settings.session_max_age_days + 1))
        )
        session.execute(
            update(InstructorSession)
            .where(InstructorSession.id_hash == _hash(idle_id))
            .values(last_seen_at=ago(minutes=settings.instructor_idle_minutes + 1))
        )
        # One count inside the longest window (sign-in codes'), one past it.
        session.execute(
            update(RateLimitHit)
            .where(RateLimitHit.bucket == "answer-learner")
            .values(created_at=ago(minutes=settings.signin_window_minutes - 1))
        )
        session.execute(
            update(RateLimitHit)
            .where(RateLimitHit.bucket == "signin-name")
            .values(created_at=ago(minutes=settings.signin_window_minutes + 1))
        )

    with app.state.db.writing() as session:
        swept = sweep(session, settings)
    assert (swept.rate_limit_hits, swept.learner_sessions, swept.instructor_sessions) == (1, 1, 1)
    assert "1 learner sessions" in str(swept)

    max_age = timedelta(days=settings.session_max_age_days)
    with app.state.db.reading() as session:
        assert resolve_session(session, live_token, max_age) is not None
        assert session.get(InstructorSession, _hash(fresh_id)) is not None
        buckets = session.scalars(select(RateLimitHit.bucket)).all()
    assert buckets == ["answer-learner"]

    with app.state.db.writing() as session:  # a second sweep finds nothing: idempotent
        again = sweep(session, settings)
    assert (again.rate_limit_hits, again.learner_sessions, again.instructor_sessions) == (0, 0, 0)


def _hash(token: str) -> str:
    return digest(token)


def test_a_swept_learner_is_asked_for_their_code_and_keeps_their_answers(
    app: FastAPI, settings: Settings
) -> None:
    with TestClient(app) as client:
        code = start_with_code(client, "Ada")
        answer_page(client, 1, "Tensors are immutable; variables hold state that changes.")
        with app.state.db.writing() as session:
            session.execute(
                update(LearnerSession).values(
                    created_at=utc_now() - timedelta(days=settings.session_max_age_days + 1)
                )
            )
            assert sweep(session, settings).learner_sessions == 1
        page = client.get("/")
        assert "Start the quiz" in page.text and "1 of 11 questions answered" not in page.text
        assert continue_as(client, "Ada", code).status_code == 303  # the code still works
        assert "1 of 11 questions answered" in client.get("/").text
    assert _count(app, LearnerSession) == 1


def test_the_sweeper_thread_runs_on_its_timer(settings: Settings) -> None:
    from app.main import create_app

    quick = settings.model_copy(update={"housekeeping_minutes": 0.002})  # about 0.1 s
    application = create_app(quick)
    with application.state.db.writing() as session:
        record(session, Bucket("answer-learner", "1", 10))
        session.execute(update(RateLimitHit).values(created_at=utc_now() - timedelta(days=1)))
    sweeper = Sweeper(application.state.db, quick)
    sweeper.start()
    assert sweeper.running
    try:
        deadline = time.monotonic() + 30
        while _count(application, RateLimitHit) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sweeper.close()
        application.state.db.engine.dispose()
    assert _count(application, RateLimitHit) == 0


def test_no_sweeper_thread_when_turned_off(settings: Settings) -> None:
    from app.main import create_app

    off = settings.model_copy(update={"housekeeping_minutes": 0})
    application = create_app(off)
    sweeper = Sweeper(application.state.db, off)
    sweeper.start()
    assert not sweeper.running
    application.state.db.engine.dispose()


def test_prune_command_reports_what_it_deleted(app: FastAPI, settings: Settings) -> None:
    with app.state.db.writing() as session:
        record(session, Bucket("answer-learner", "1", 10))
        session.execute(update(RateLimitHit).values(created_at=utc_now() - timedelta(days=1)))
    env = {
        **os.environ,
        "TFQUIZ_DATA_DIR": str(settings.data_dir),
        "TFQUIZ_DATABASE_URL": settings.resolved_database_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", "prune"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Deleted 1 rate-limit counts, 0 learner sessions")
    assert _count(app, RateLimitHit) == 0
