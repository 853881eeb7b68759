"""One rate limiter: check() counts in every bucket or raises RateLimited, answered 429."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import Settings
from app.main import create_app
from app.models import RateLimitHit
from app.ratelimit import Bucket, RateLimited, check, forget, record
from tests.factories import make_instructor, sign_in

REFUSAL = "wait {seconds} s (about {minutes} min)"


def hits(app: FastAPI, bucket: str) -> int:
    with app.state.db.reading() as session:
        query = select(func.count()).where(RateLimitHit.bucket == bucket)
        return int(session.scalar(query) or 0)


def test_a_full_bucket_refuses_without_counting_in_any(app: FastAPI) -> None:
    tight, loose = Bucket("tight", "k", 1), Bucket("loose", "k", 10)
    with app.state.db.writing() as session:
        check(session, tight, loose, refusal=REFUSAL)
    with app.state.db.writing() as session, pytest.raises(RateLimited) as refused:
        check(session, tight, loose, refusal=REFUSAL)
    assert 1 <= refused.value.retry_after <= 60
    assert refused.value.message == f"wait {refused.value.retry_after} s (about 1 min)"
    assert (hits(app, "tight"), hits(app, "loose")) == (1, 1)


def test_the_wait_is_the_longest_of_the_full_buckets(app: FastAPI) -> None:
    minute, hour = Bucket("m", "k", 1), Bucket("h", "k", 1, timedelta(hours=1))
    with app.state.db.writing() as session:
        record(session, minute, hour)
    with app.state.db.writing() as session, pytest.raises(RateLimited) as refused:
        check(session, minute, hour, refusal=REFUSAL)
    assert refused.value.retry_after > 60 * 59


def test_counting_failures_only_and_forgetting_them(app: FastAPI) -> None:
    failures = Bucket("failures", "ada", 2)
    for _ in range(2):
        with app.state.db.writing() as session:
            check(session, failures, refusal=REFUSAL, count=False)
            record(session, failures)
    with app.state.db.writing() as session, pytest.raises(RateLimited):
        check(session, failures, refusal=REFUSAL, count=False)
    with app.state.db.writing() as session:
        forget(session, failures)
        check(session, failures, refusal=REFUSAL, count=False)
    assert hits(app, "failures") == 0


def twice_answer(client: TestClient) -> Any:
    for _ in range(2):
        response = client.post("/api/questions/3/answers", json={"learner": "Ada", "text": "No"})
    return response


def twice_demo(client: TestClient) -> Any:
    for _ in range(2):
        response = client.post("/api/questions/3/demos/1/run")
    return response


@pytest.mark.parametrize(
    ("limits", "send", "says"),
    [
        ({"answer_limit_per_learner": 1}, twice_answer, "too quickly"),
        ({"demo_limit_per_session": 1}, twice_demo, "Too many live demo runs"),
    ],
    ids=["answers", "demos"],
)
def test_rate_limited_api_requests_answer_429_with_retry_after(
    settings: Settings, limits: dict[str, int], send: Callable[[TestClient], Any], says: str
) -> None:
    with TestClient(create_app(settings.model_copy(update=limits))) as client:
        refused = send(client)
    assert refused.status_code == 429 and says in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["cache-control"] == "no-store"


def test_rate_limited_sign_ins_answer_429_with_retry_after(settings: Settings) -> None:
    limited = settings.model_copy(update={"login_max_per_account": 1})
    with TestClient(create_app(limited)) as client:
        make_instructor(client.app)
        assert sign_in(client, password="wrong wrong wrong").status_code == 401
        refused = sign_in(client)
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
    assert int(refused.headers["retry-after"]) > 0
