"""The instructor playground: off by default, instructors only, rate-limited, audited, uncached.

Most tests swap the app's pool for a recording stand-in, so they need no TensorFlow; the
slow ones at the end run edited code on a real worker in the bubblewrap sandbox.
"""

from __future__ import annotations

import html
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import PROJECT_ROOT, Settings
from app.demos.protocol import PoolBusy, RunOutcome
from app.demos.sandbox import bwrap_problem
from app.main import create_app
from app.models import DemoRun, PlaygroundRun, RateLimitHit
from tests.databases import migrate
from tests.factories import INSTRUCTOR_EMAIL, csrf, make_instructor, post_form, sign_in, start

PAGE = "/instructor/playground/3/1"
API = "/api/instructor/playground/3/1/run"
EDITED = "print('edited <b>by</b> the teacher')\n"
OFF = "The playground is turned off on this server (TFQUIZ_PLAYGROUND=1 turns it on)."


class RecordingPool:
    """Stands in for the demo pool: records what it was asked to run, answers at once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.calls: list[tuple[str, list[str]]] = []
        self.busy = False
        self.state: dict[str, Any] = {"sandbox": "bwrap", "device_kind": "cpu"}

    def start(self) -> None:
        """Start nothing."""

    def close(self) -> None:
        """Stop nothing."""

    def run(self, code: str, devices: list[str] | None = None, on_output: Any = None) -> RunOutcome:
        """Refuse: edited code must never run on the workers that serve question demos."""
        raise AssertionError("edited code ran on the shared pool")

    def run_isolated(
        self, code: str, devices: list[str] | None = None, on_output: Any = None
    ) -> RunOutcome:
        """Record the code and answer as a worker of its own would."""
        if self.busy:
            raise PoolBusy(retry_after=7)
        self.calls.append((code, devices or []))
        return RunOutcome(status="ok", stdout=f"ran {len(code)} characters\n" + code, value="42")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with the playground on and a small rate limit."""
    return settings.model_copy(update={"playground": True, "playground_limit_per_minute": 3})


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """The app with its pool replaced by a recording stand-in."""
    app = create_app(settings)
    app.state.pool = RecordingPool(settings)
    yield app
    app.state.db.engine.dispose()


def audit_rows(app: FastAPI) -> list[PlaygroundRun]:
    """Return every playground audit row, oldest first."""
    with app.state.db.reading() as session:
        return list(session.scalars(select(PlaygroundRun).order_by(PlaygroundRun.id)))


def run_form(client: TestClient, code: str, page: str = PAGE) -> Any:
    """Submit the playground form as a browser would."""
    return post_form(client, page, {"code": code}, page)


def run_api(client: TestClient, code: str, url: str = API) -> Any:
    """Run code through the JSON API with the CSRF header a page script sends."""
    return client.post(url, json={"code": code}, headers={"X-CSRF-Token": csrf(client, PAGE)})


def test_the_playground_is_off_by_default(settings: Settings) -> None:
    assert Settings().playground is False
    app = create_app(settings.model_copy(update={"playground": False}))
    pool = app.state.pool = RecordingPool(settings)
    make_instructor(app)
    with TestClient(app) as client:
        sign_in(client)
        page = client.get(PAGE)
        assert page.status_code == 404 and OFF in html.unescape(page.text)
        token = csrf(client, "/instructor/")
        posted = client.post(PAGE, data={"code": EDITED, "csrf_token": token})
        assert posted.status_code == 404
        api = client.post(API, json={"code": EDITED}, headers={"X-CSRF-Token": token})
        assert api.status_code == 404 and api.json()["detail"] == OFF
    assert pool.calls == [] and audit_rows(app) == []


def test_the_page_shows_the_demo_code_in_an_editor(instructor_client: TestClient) -> None:
    page = instructor_client.get(PAGE)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = html.unescape(page.text)
    assert '<label for="code">' in page.text and 'class="code-editor"' in page.text
    assert "b = tf.constant(np.arange(10))" in text  # in the editor and in the reference copy
    assert "The demo's own code" in text and "No one has run an edit of this demo yet." in text
    assert "bwrap sandbox" in text and 'type="submit">Run</button>' in page.text


def test_an_instructor_runs_edited_code_and_sees_its_output(
    app: FastAPI, instructor_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tfquiz.audit"):
        response = run_form(instructor_client, EDITED.replace("\n", "\r\n"))
    assert response.status_code == 200
    assert "edited &lt;b&gt;by&lt;/b&gt; the teacher" in response.text  # shown, escaped
    assert f"ran {len(EDITED)} characters" in response.text  # CRLF from the form became LF
    assert app.state.pool.calls == [(EDITED, [])]
    [row] = audit_rows(app)
    assert (row.question_number, row.demo_index, row.status, row.code) == (3, 1, "ok", EDITED)
    assert len(row.code_hash) == 64 and row.instructor_id is not None
    [line] = [r.getMessage() for r in caplog.records if r.name == "tfquiz.audit"]
    assert INSTRUCTOR_EMAIL in line and row.code_hash in line and "question 3 demo 1" in line
    assert "print(" not in line and "edited" not in line  # the hash names the code
    again = instructor_client.get(PAGE)
    assert row.code_hash[:12] in again.text and "teacher@example.org" in again.text


def test_the_json_api_runs_edited_code(app: FastAPI, instructor_client: TestClient) -> None:
    response = run_api(instructor_client, EDITED)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["value"] == "42" and body["cached"] is False
    assert (body["question"], body["demo"]) == (3, 1) and len(body["code_hash"]) == 64
    assert [row.status for row in audit_rows(app)] == ["ok"]


def test_edited_code_never_reaches_the_demo_cache(
    app: FastAPI, instructor_client: TestClient
) -> None:
    assert run_form(instructor_client, EDITED).status_code == 200
    with app.state.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(DemoRun)) == 0


@pytest.mark.parametrize("who", ["anonymous", "learner"])
def test_learners_and_visitors_cannot_run_code(app: FastAPI, client: TestClient, who: str) -> None:
    if who == "learner":
        start(client, "Mallory")
    token = csrf(client)  # a valid CSRF token of this browser: only the role is missing
    page = client.get(PAGE, follow_redirects=False)
    form = client.post(PAGE, data={"code": EDITED, "csrf_token": token}, follow_redirects=False)
    api = client.post(API, json={"code": EDITED}, headers={"X-CSRF-Token": token})
    assert page.status_code == form.status_code == 303
    assert form.headers["location"].startswith("/instructor/login?next=")
    assert api.status_code == 401 and api.json()["detail"] == "Sign in as an instructor first."
    assert app.state.pool.calls == [] and audit_rows(app) == []


def test_a_run_needs_the_csrf_token(app: FastAPI, instructor_client: TestClient) -> None:
    form = instructor_client.post(PAGE, data={"code": EDITED})
    forged = instructor_client.post(PAGE, data={"code": EDITED, "csrf_token": "forged"})
    api = instructor_client.post(API, json={"code": EDITED})
    assert form.status_code == forged.status_code == api.status_code == 403
    assert "CSRF check failed" in api.json()["detail"]
    assert app.state.pool.calls == [] and audit_rows(app) == []


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "The code is empty: write or paste a snippet before pressing Run."),
        ("  \n\t\n", "The code is empty: write or paste a snippet before pressing Run."),
        ("x" * 20_001, "The code is 20,001 characters long; the limit is 20,000."),
        ("print(1)\x00", "The code contains a NUL character; remove it and run again."),
    ],
)
def test_bad_code_gets_a_clear_message(
    app: FastAPI, instructor_client: TestClient, code: str, message: str
) -> None:
    form = run_form(instructor_client, code)
    assert form.status_code == 422 and message in html.unescape(form.text)
    assert 'role="alert"' in form.text and 'aria-invalid="true"' in form.text
    api = run_api(instructor_client, code)
    assert api.status_code == 422 and api.json()["detail"] == message
    assert app.state.pool.calls == [] and audit_rows(app) == []


def test_a_missing_code_field_or_a_lone_surrogate_is_refused(
    instructor_client: TestClient,
) -> None:
    token = csrf(instructor_client, PAGE)
    form = instructor_client.post(PAGE, data={"csrf_token": token})
    assert form.status_code == 422 and "The code is empty" in form.text
    surrogate = instructor_client.post(
        API,
        content=b'{"code": "print(1) \\ud800"}',
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert surrogate.status_code in (400, 422) and "surrogate" in surrogate.json()["detail"]
    missing = instructor_client.post(API, json={}, headers={"X-CSRF-Token": token})
    assert missing.status_code == 422 and "code" in missing.json()["detail"]


def test_runs_are_rate_limited_per_instructor(app: FastAPI, instructor_client: TestClient) -> None:
    for _ in range(3):
        assert run_form(instructor_client, EDITED).status_code == 200
    refused = run_form(instructor_client, "print('one too many')")
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Too many playground runs (at most 3 a minute)" in refused.text
    assert "one too many" in html.unescape(refused.text)  # the edit is kept in the editor
    api = run_api(instructor_client, EDITED)
    assert api.status_code == 429 and "retry-after" in api.headers
    assert len(app.state.pool.calls) == 3
    rows = audit_rows(app)
    assert [row.status for row in rows] == ["ok"] * 3 + ["rate_limited"] * 2
    assert rows[-1].code == "" and len(rows[-1].code_hash) == 64  # a flood keeps no code
    with app.state.db.reading() as session:
        buckets = session.scalars(select(RateLimitHit.bucket)).all()
    assert set(buckets) == {"playground-instructor", "playground-address"}


def test_runs_are_rate_limited_per_address(app: FastAPI, instructor_client: TestClient) -> None:
    make_instructor(app, "second@example.org")
    for _ in range(3):
        assert run_form(instructor_client, EDITED).status_code == 200
    with TestClient(app) as other:  # another instructor behind the same address
        sign_in(other, "second@example.org")
        assert run_form(other, EDITED).status_code == 429
    assert len(app.state.pool.calls) == 3


def test_a_busy_pool_answers_503_and_is_audited(
    app: FastAPI, instructor_client: TestClient
) -> None:
    app.state.pool.busy = True
    form = run_form(instructor_client, EDITED)
    assert form.status_code == 503 and form.headers["retry-after"] == "7"
    assert "Every demo worker is busy; try again in 7 s." in form.text
    assert run_api(instructor_client, EDITED).status_code == 503
    assert [row.status for row in audit_rows(app)] == ["unavailable", "unavailable"]


def test_without_workers_the_run_is_refused_clearly(settings: Settings) -> None:
    app = create_app(settings)  # the real pool, with no workers (TFQUIZ_DEMO_WORKERS=0)
    make_instructor(app)
    with TestClient(app) as client:
        sign_in(client)
        response = run_form(client, EDITED)
    assert response.status_code == 503
    assert "live demos are turned off on this server" in response.text
    assert [row.status for row in audit_rows(app)] == ["unavailable"]


def test_unknown_questions_and_demos_get_404(instructor_client: TestClient) -> None:
    no_question = instructor_client.get("/instructor/playground/99/1")
    no_demo = instructor_client.get("/instructor/playground/3/9")
    assert no_question.status_code == no_demo.status_code == 404
    assert "There is no question 99." in no_question.text
    assert "Question 3 has no demo 9; it has demos 1 to 2." in no_demo.text


# Slow: a real TensorFlow worker in the bubblewrap sandbox, one app for the module.

CANARY = "CANARY-playground-5d1e"
SNOOP = (
    "import glob, os\nfound = []\nfor path in glob.glob(DATA + '/*'):\n    try:\n"
    "        found.append(open(path, 'rb').read().decode('latin-1'))\n"
    "    except OSError as error:\n        print(type(error).__name__)\n"
    "print('canary' if CANARY in ''.join(found) + str(os.environ) else 'clean')\n"
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, FastAPI, Path]]:
    """An app with one worker in the bwrap sandbox, signed in as an instructor."""
    problem = bwrap_problem(shutil.which("bwrap"))
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the sandbox cannot run in CI: {problem}")
        pytest.skip(f"bwrap cannot run here: {problem}")
    data = tmp_path_factory.mktemp("playground")
    (data / "secret_key").write_text(CANARY)
    settings = Settings(
        data_dir=data,
        questions_dir=PROJECT_ROOT / "questions",
        demo_workers=1,
        demo_sandbox="bwrap",
        demo_timeout_s=10,
        playground=True,
    )
    migrate(settings)
    app = create_app(settings)
    make_instructor(app)
    with TestClient(app) as client:
        # TensorFlow's start in bwrap takes seconds, many more on a loaded machine: a run sent
        # before the worker is ready can wait past the queue's limit and answer 503.
        deadline = time.monotonic() + 120
        while not client.get("/readyz").json()["checks"]["demos"]["ready"]:
            assert time.monotonic() < deadline, client.get("/readyz").json()["checks"]["demos"]
            time.sleep(0.1)
        warm = client.post("/api/questions/3/demos/1/run")
        assert warm.status_code == 200, warm.text  # warm, cached
        sign_in(client)
        yield client, app, data


@pytest.mark.slow
def test_edited_code_runs_live_on_a_worker(live: tuple[TestClient, FastAPI, Path]) -> None:
    client, app, _ = live
    code = "import tensorflow as tf\nprint('doubled', tf.range(3).numpy() * 2)\ntf.range(2)"
    response = run_form(client, code)
    assert response.status_code == 200, response.text
    text = html.unescape(response.text)
    assert "doubled [0 2 4]" in text and "<tf.Tensor: shape=(2,), dtype=int32" in text
    failing = run_form(client, "raise ValueError('shown to the class')")
    assert failing.status_code == 200 and "ValueError: shown to the class" in failing.text
    statuses = [row.status for row in audit_rows(app)]
    assert statuses[-2:] == ["ok", "error"]


@pytest.mark.slow
def test_a_live_run_leaves_the_demo_cache_as_it_was(
    live: tuple[TestClient, FastAPI, Path],
) -> None:
    client, app, _ = live
    with app.state.db.reading() as session:
        before = [(r.snippet_hash, r.result) for r in session.scalars(select(DemoRun))]
    assert run_form(client, "print('not the demo')").status_code == 200
    with app.state.db.reading() as session:
        after = [(r.snippet_hash, r.result) for r in session.scalars(select(DemoRun))]
    assert after == before and len(before) == 1
    cached = client.get("/api/questions/3/demos/1").json()
    assert cached["cached"] is True and "not the demo" not in cached["stdout"]


@pytest.mark.slow
def test_edited_code_runs_in_the_demo_sandbox(live: tuple[TestClient, FastAPI, Path]) -> None:
    client, _, data = live
    code = f"DATA = {str(data)!r}\nCANARY = {CANARY!r}\n" + SNOOP
    response = run_api(client, code)
    assert response.status_code == 200, response.text
    assert response.json()["stdout"].endswith("clean\n")
