"""What comes back from a worker is not trusted: bad reports and forged cache rows are refused.

A worker runs code that can patch it, so its replies are validated on the pipe and every
cached row is validated again when it is read: a forged row is passed over (never a 500),
and a forged report is neither stored nor shown.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert

from app.demos.pool import DemoPool
from app.demos.protocol import Done, ProtocolError, RunOutcome, parse_reply
from app.demos.runs import installed_tf_version, snippet_hash
from app.models import DemoRun, utc_now

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
