"""What comes back from a worker is not trusted: bad reports and forged cache rows are refused.

A worker runs code that can patch it, so its replies are validated on the pipe and every
cached row is validated again when it is read: a forged row is passed over (never a 500),
and a forged report is neither stored nor shown.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from app.config import Settings
from app.demos.pool import DemoPool
from app.demos.protocol import Done, ProtocolError, RunOutcome, parse_reply
from app.demos.runs import installed_tf_version, snippet_hash
from app.demos.sandbox import bwrap_problem
from app.main import create_app
from app.models import DemoRun, utc_now
from tests.databases import fresh_database_url, migrate
from tests.demos.test_pool import LOOK, PERSIST
from tests.factories import csrf, make_instructor, sign_in

GOOD_TENSOR = {"name": "a", "dtype": "int32", "shape": [2], "device": "CPU:0"}
GOOD_RESULT = RunOutcome(
    status="ok", stdout="the genuine output\n", tensors=[GOOD_TENSOR], tf_version="2.17.0"
).model_dump(mode="json")
# Each would have broken a page or the API before the cache was read through the bounds.
FORGED: dict[str, Any] = {
    "a shape that is not a list": {**GOOD_RESULT, "tensors": [{**GOOD_TENSOR, "shape": 5}]},
    "a device that is not text": {**GOOD_RESULT, "tensors": [{**GOOD_TENSOR, "device": 7}]},
    "a tensor that is not an object": {**GOOD_RESULT, "tensors": [5]},
    "an unknown status": {**GOOD_RESULT, "status": "pwned"},
    "a row that is not an object": ["not", "a", "result"],
}
BAD_TENSORS: dict[str, list[Any]] = {
    "21 tensors": [GOOD_TENSOR] * 21,
    "a 201-character name": [{**GOOD_TENSOR, "name": "n" * 201}],
    "markup in a dtype": [{**GOOD_TENSOR, "dtype": '"><script>'}],
    "a dtype of 33 characters": [{**GOOD_TENSOR, "dtype": "a" * 33}],
    "a rank of 33": [{**GOOD_TENSOR, "shape": [1] * 33}],
    "a dimension below -1": [{**GOOD_TENSOR, "shape": [-2]}],
    "a dimension that is true": [{**GOOD_TENSOR, "shape": [True]}],
    "a 201-character device": [{**GOOD_TENSOR, "device": "d" * 201}],
    "an extra key": [{**GOOD_TENSOR, "numpy": "[1, 2]"}],
    "a missing key": [{"name": "a", "dtype": "int32", "shape": [2]}],
}


def store(app: FastAPI, result: Any, device_kind: str, age_s: float = 0) -> None:
    """Write a cache row for question 1's first demo straight into the database."""
    demo = app.state.bank.questions[1].demos[0]
    row = {
        "snippet_hash": snippet_hash(demo),
        "tf_version": installed_tf_version(),
        "device_kind": device_kind,
        "result": result,
        "created_at": utc_now() - timedelta(seconds=age_s),
    }
    with app.state.db.writing() as session:
        session.connection().execute(insert(DemoRun), [row])


@pytest.mark.parametrize("kind", FORGED)
def test_a_forged_cache_row_is_passed_over_never_a_500(
    app: FastAPI, client: TestClient, kind: str
) -> None:
    store(app, GOOD_RESULT, "gpu", age_s=60)  # an older, genuine row of another device
    store(app, FORGED[kind], "cpu")
    for path in ("/questions/1", "/present"):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[-500:])
    assert "the genuine output" in client.get("/questions/1").text
    demo = client.get("/api/questions/1/demos/1")
    assert demo.status_code == 200 and demo.json()["stdout"] == "the genuine output\n"


def test_a_forged_row_alone_reads_as_not_run_yet(app: FastAPI, client: TestClient) -> None:
    store(app, FORGED["a shape that is not a list"], "cpu")
    assert client.get("/questions/1").status_code == 200
    demo = client.get("/api/questions/1/demos/1")
    assert demo.status_code == 404 and "not run yet" in demo.json()["detail"]


@pytest.mark.parametrize("kind", BAD_TENSORS)
def test_a_worker_report_out_of_bounds_is_refused(kind: str) -> None:
    line = Done(
        run="r1", duration_ms=1, truncated=False, dirty=False, value=None, error=None, tensors=[]
    ).model_dump()
    forged = {**line, "tensors": BAD_TENSORS[kind]}
    with pytest.raises(ProtocolError, match="tensors"):
        parse_reply(json.dumps(forged))


@pytest.mark.parametrize(
    ("field", "value"),
    [("tf_version", "2" * 41), ("device_kind", "quantum"), ("devices", [{"name": "x"}])],
)
def test_a_hello_out_of_bounds_is_refused(field: str, value: object) -> None:
    hello = {"type": "hello", "pid": 1, "tf_version": "2.17.0", "devices": [], "device_kind": "cpu"}
    with pytest.raises(ProtocolError, match=field):
        parse_reply(json.dumps({**hello, field: value}))


# Snippet code that finds the worker's own channel and sends a result for its run first.
FORGE_DONE = """
import gc, json
from app.demos.capture import RunOutput
for current in [o for o in gc.get_objects() if type(o) is RunOutput]:
    forged = {"type": "done", "run": current.run, "duration_ms": 1, "truncated": False,
              "dirty": False, "value": "FORGED", "error": None, "tensors": TENSORS}
    current.channel.stream.write((json.dumps(forged) + "\\n").encode())
    current.channel.stream.flush()
"""


def test_a_result_forged_out_of_bounds_is_never_the_result(pool: DemoPool) -> None:
    code = FORGE_DONE.replace("TENSORS", repr(BAD_TENSORS["markup in a dtype"]))
    outcome = pool.run(code)
    # A worker that sends a malformed line is not trusted again: killed, its run not a success.
    assert outcome.status == "crashed" and outcome.value != "FORGED" and outcome.tensors == []
    assert pool.run("1 + 1").value == "2"  # its replacement serves the next run


# Slow: edited code on a real TensorFlow worker in bwrap, then a learner's run of a demo.


def looking_question() -> str:
    """A question whose demo prints what a run before it may have left behind."""
    rubric = '```yaml\nkey_points:\n  - id: any\n    text: Anything.\n    any_of: ["anything"]\n```'
    return (
        "---\nid: 7b2d4e6f-0000-4a1b-9c3d-abcdefabcdef\nnumber: 51\ntitle: Leftovers\n"
        "topic: Testing\n---\n\n## Question\n\nWhat is left?\n\n## Reference answer\n\n"
        f"Nothing.\n\n## Rubric\n\n{rubric}\n\n## Demo: Look around\n\n```python\n{LOOK}```\n"
    )


@pytest.mark.slow
def test_edited_code_reaches_no_learner_nor_the_cache(tmp_path: Path) -> None:
    problem = bwrap_problem(shutil.which("bwrap"))
    if problem is not None:
        pytest.skip(f"bwrap cannot run here: {problem}")
    questions = tmp_path / "questions"
    questions.mkdir()
    (questions / "51-leftovers.md").write_text(looking_question())
    settings = Settings(
        data_dir=tmp_path,
        database_url=fresh_database_url(),
        questions_dir=questions,
        demo_workers=1,
        demo_sandbox="bwrap",
        demo_timeout_s=20,
        demo_queue_wait_s=60,  # the one-run worker may still be importing TensorFlow
        playground=True,
    )
    migrate(settings)
    app = create_app(settings)
    make_instructor(app)
    with TestClient(app) as client:
        sign_in(client)
        page = "/instructor/playground/51/1"
        token = {"X-CSRF-Token": csrf(client, page)}
        for code in (PERSIST, LOOK):  # the second: what the playground's own run shows
            edited = client.post(
                "/api/instructor/playground/51/1/run", json={"code": code}, headers=token
            )
            assert edited.status_code == 200 and edited.json()["status"] == "ok", edited.text
        assert "FORGED" not in edited.json()["stdout"]
        assert client.get("/api/questions/51/demos/1").status_code == 404  # nothing cached
        with app.state.db.reading() as session:
            assert session.scalar(select(func.count()).select_from(DemoRun)) == 0
        for response in (
            client.post("/api/questions/51/demos/1/run"),
            client.get("/api/questions/51/demos/1"),
        ):
            shown = response.json()
            assert response.status_code == 200 and shown["status"] == "ok", response.text
            assert shown["stdout"].startswith("genuine None\n") and "FORGED" not in shown["stdout"]
            assert "planted" not in shown["stdout"]
        assert "FORGED" not in client.get("/questions/51").text
    app.state.db.engine.dispose()
