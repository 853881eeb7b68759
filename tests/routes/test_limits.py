"""Safe retries with Idempotency-Key, and rate limits on answers and live demos."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import submissions
from app.config import Settings
from app.grading import GradeResult
from app.main import create_app
from app.schema import Question
from tests.factories import (
    GOOD_Q3,
    TOKEN_RE,
    answer_api,
    count_attempts,
    count_learners,
    csrf,
    start,
)


def post_answer(client: TestClient, text: str, key: str | None, learner: str = "Ada") -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(
        "/api/questions/3/answers", json={"learner": learner, "text": text}, headers=headers
    )


def test_a_retried_answer_is_stored_once(client: TestClient, session: Session) -> None:
    first = post_answer(client, GOOD_Q3, "retry-key-0001")
    again = post_answer(client, GOOD_Q3, "retry-key-0001")
    assert first.status_code == 201 and again.status_code == 200
    body = again.json()
    assert body["replayed"] is True and body["attempt_id"] == first.json()["attempt_id"]
    assert body["score"] == 1.0 and count_attempts(session) == 1


def test_a_key_reused_for_another_answer_is_refused(client: TestClient, session: Session) -> None:
    post_answer(client, GOOD_Q3, "retry-key-0002")
    other = post_answer(client, "No, they differ.", "retry-key-0002")
    assert other.status_code == 422
    assert "already used for a different answer" in other.json()["detail"]
    assert count_attempts(session) == 1


def test_malformed_keys_are_refused(client: TestClient, session: Session) -> None:
    for key in ("short", "has spaces in it", "x" * 101):
        response = post_answer(client, GOOD_Q3, key)
        assert response.status_code == 422, key
    assert count_attempts(session) == 0


def test_a_double_submitted_form_counts_once(client: TestClient, session: Session) -> None:
    start(client)
    page = client.get("/questions/3").text
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    token = TOKEN_RE.search(page).group(1)  # type: ignore[union-attr]
    data = {"answer": GOOD_Q3, "idempotency_key": key, "csrf_token": token}
    first = client.post("/questions/3", data=data, follow_redirects=False)
    second = client.post("/questions/3", data=data, follow_redirects=False)
    assert first.headers["location"] == second.headers["location"]
    assert count_attempts(session) == 1


def limited_client(settings: Settings, **limits: int) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=limits)))


def test_answers_are_limited_per_learner(settings: Settings) -> None:
    with limited_client(settings, answer_limit_per_learner=3) as client:
        statuses = [answer_api(client, 3, f"No, int32 ({n})").status_code for n in range(4)]
        refused = answer_api(client, 3, "No, int32 (again)")
        assert statuses == [201, 201, 201, 429]
        assert int(refused.headers["retry-after"]) >= 1
        assert "too quickly" in refused.json()["detail"]
        assert answer_api(client, 3, "fine", learner="Bea").status_code == 201  # someone else


def test_answers_are_limited_per_address(settings: Settings, app: FastAPI) -> None:
    with limited_client(settings, answer_limit_per_address=2) as client:
        statuses = [answer_api(client, 3, "No", learner=f"L{n}").status_code for n in range(3)]
    assert statuses == [201, 201, 429]
    with app.state.db.reading() as session:
        assert count_attempts(session) == 2


def test_a_refused_answer_is_not_graded(
    settings: Settings, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    graded: list[str] = []
    real_grader = submissions.grade_answer

    def counted(question: Question, text: str) -> GradeResult:
        graded.append(text)  # the real grader still grades: this only counts its calls
        return real_grader(question, text)

    monkeypatch.setattr(submissions, "grade_answer", counted)
    with limited_client(settings, answer_limit_per_learner=2) as client:
        statuses = [answer_api(client, 3, f"No, int32 ({n})").status_code for n in range(4)]
    assert statuses == [201, 201, 429, 429]
    assert graded == ["No, int32 (0)", "No, int32 (1)"]
    with app.state.db.reading() as session:
        assert count_attempts(session) == 2


def test_starts_are_limited_per_address_even_when_refused(settings: Settings, app: FastAPI) -> None:
    with limited_client(settings, start_limit_per_address=3) as client:
        assert start(client, "Ada").status_code == 200
        with TestClient(client.app) as guesser:  # same address, another browser
            taken = [start(guesser, "Ada").status_code for _ in range(2)]
            refused = start(guesser, "Bea")
        with TestClient(client.app, client=("192.0.2.9", 50000)) as elsewhere:
            assert start(elsewhere, "Cy").status_code == 200
    assert taken == [409, 409]  # guesses at a taken name count too
    assert refused.status_code == 429 and "Too many sign-ins" in refused.text
    assert int(refused.headers["retry-after"]) >= 1 and 'value="Bea"' in refused.text
    with app.state.db.reading() as session:
        assert count_learners(session) == 2  # Ada and Cy; Bea was refused


def test_the_answer_form_explains_a_rate_limit(settings: Settings) -> None:
    with limited_client(settings, answer_limit_per_learner=1) as client:
        start(client)
        token = csrf(client, "/questions/3")
        client.post("/questions/3", data={"answer": "No", "csrf_token": token})
        page = client.post("/questions/3", data={"answer": "Again", "csrf_token": token})
        assert page.status_code == 429 and "too quickly" in page.text and "Again" in page.text


def test_live_demo_runs_are_limited_per_session(settings: Settings) -> None:
    with limited_client(settings, demo_limit_per_session=2) as client:
        statuses = [client.post("/api/questions/3/demos/1/run").status_code for _ in range(3)]
    assert statuses == [503, 503, 429]  # no workers in these tests; the third is refused first


SLEEPY_QUESTION = """---
id: 9a1c3f7e-0000-4c1d-8e5f-0000000000f1
number: 60
title: A slow demo
topic: Testing
---

## Question

What takes long?

## Reference answer

Sleeping.

## Rubric

```yaml
key_points:
  - id: any
    text: Anything.
    any_of: ["anything"]
```

## Demo: Sleep

```python
import time
time.sleep(1.5)
print('slept')
```

## Demo: Sleep again

```python
import time
time.sleep(1.5)  # not the first demo's code: identical runs at once share one execution
print('slept')
```

## Demo: Sleep once more

```python
import time
time.sleep(1.5)  # the third
print('slept')
```
"""


def demo_state(app: FastAPI) -> dict[str, Any]:
    """Return the demo pool's state as /readyz reports it."""
    state: dict[str, Any] = TestClient(app).get("/readyz").json()["checks"]["demos"]
    return state


def wait_for(app: FastAPI, **wanted: Any) -> None:
    """Poll /readyz until the demo pool's state shows ``wanted`` (a bounded wait)."""
    for _ in range(600):
        state = demo_state(app)
        if all(state.get(name) == value for name, value in wanted.items()):
            return
        time.sleep(0.02)
    raise AssertionError(f"the pool never reached {wanted}: {demo_state(app)}")


def run_without_cookies(app: FastAPI, address: str, demo: int = 1) -> Any:
    """Run a slow demo live as a client that keeps no cookie: a new browser each time."""
    return TestClient(app, client=(address, 50000)).post(f"/api/questions/60/demos/{demo}/run")


def test_one_address_holds_at_most_its_share_of_the_workers(
    settings: Settings, tmp_path: Path
) -> None:
    questions = tmp_path / "questions"
    questions.mkdir()
    (questions / "60-slow.md").write_text(SLEEPY_QUESTION)
    changes = {
        "questions_dir": questions,
        "demo_workers": 1,
        "demo_worker_tf": False,  # a real sandboxed worker, without TensorFlow's start-up
        "demo_timeout_s": 10,
        "demo_queue_size": 8,
        "demo_in_flight_per_client": 2,
    }
    with limited_client(settings, **changes) as client:
        app = client.app
        assert isinstance(app, FastAPI)
        wait_for(app, ready=True)
        flooder, learner = "198.51.100.1", "198.51.100.2"
        with ThreadPoolExecutor(3) as runs:
            held = [runs.submit(run_without_cookies, app, flooder, demo) for demo in (1, 2)]
            wait_for(app, busy=1, waiting=1)  # one run on the worker, one queued
            refused = run_without_cookies(app, flooder, 3)
            other = runs.submit(run_without_cookies, app, learner)
            finished = [run.result() for run in held]
            learners = other.result()
        again = run_without_cookies(app, flooder)  # its runs are over: its slots came back
        streamed = [
            TestClient(app, client=(flooder, 50000)).post(f"/api/questions/60/demos/{k}/run/stream")
            for k in (1, 2)
        ]
        after_streams = run_without_cookies(app, flooder)  # streams give their slots back too
    assert refused.status_code == 429
    assert "already have 2 live demo runs in progress" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    assert [r.status_code for r in finished] == [200, 200]
    assert learners.status_code == 200 and learners.json()["stdout"] == "slept\n"
    assert again.status_code == 200
    assert all("event: result" in stream.text for stream in streamed)
    assert after_streams.status_code == 200


def test_browsers_behind_one_address_each_have_their_share(
    settings: Settings, tmp_path: Path
) -> None:
    """A class behind one NAT is many browsers: each returning browser has its own slots."""
    questions = tmp_path / "questions"
    questions.mkdir()
    (questions / "60-slow.md").write_text(SLEEPY_QUESTION)
    changes = {
        "questions_dir": questions,
        "demo_workers": 1,
        "demo_worker_tf": False,
        "demo_timeout_s": 10,
        "demo_queue_size": 8,
        "demo_in_flight_per_client": 2,
    }
    with limited_client(settings, **changes) as client:
        app = client.app
        assert isinstance(app, FastAPI)
        wait_for(app, ready=True)
        school = ("203.0.113.50", 50000)
        browsers = [TestClient(app, client=school) for _ in range(2)]
        for browser in browsers:
            assert browser.get("/").status_code == 200  # the session cookie a browser keeps
        with ThreadPoolExecutor(4) as runs:
            first = [runs.submit(browsers[0].post, "/api/questions/60/demos/1/run")]
            first.append(runs.submit(browsers[0].post, "/api/questions/60/demos/2/run"))
            wait_for(app, busy=1, waiting=1)
            refused = browsers[0].post("/api/questions/60/demos/3/run")
            classmate = runs.submit(browsers[1].post, "/api/questions/60/demos/1/run")
            results = [run.result() for run in first]
            classmates = classmate.result()
    assert refused.status_code == 429  # the first browser's own share is taken
    assert [r.status_code for r in results] == [200, 200]
    assert classmates.status_code == 200 and classmates.json()["stdout"] == "slept\n"


def test_a_queue_far_past_its_size_answers_503_saying_when_to_retry(
    settings: Settings, tmp_path: Path
) -> None:
    questions = tmp_path / "questions"
    questions.mkdir()
    (questions / "60-slow.md").write_text(SLEEPY_QUESTION)
    changes = {
        "questions_dir": questions,
        "demo_workers": 1,
        "demo_worker_tf": False,
        "demo_timeout_s": 10,
        "demo_queue_size": 1,
    }
    with limited_client(settings, **changes) as client:
        app = client.app
        assert isinstance(app, FastAPI)
        wait_for(app, ready=True)
        with ThreadPoolExecutor(2) as runs:
            running = runs.submit(run_without_cookies, app, "198.51.100.1", 1)
            wait_for(app, busy=1)
            queued = runs.submit(run_without_cookies, app, "198.51.100.2", 2)
            wait_for(app, busy=1, waiting=1)  # the queue is full now
            refused = run_without_cookies(app, "198.51.100.3", 3)
            assert [running.result().status_code, queued.result().status_code] == [200, 200]
    assert refused.status_code == 503
    retry = int(refused.headers["retry-after"])
    assert retry >= 1 and f"try again in {retry} s" in refused.json()["detail"]
