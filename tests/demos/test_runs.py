"""Demo runs through the API: cached and live results, streaming, pages and the busy answer.

Tests that need TensorFlow are marked slow; the rest start workers without it. Every way a
plain snippet can misbehave in the pool is in ``test_pool.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import PROJECT_ROOT, Settings
from app.main import create_app
from tests.databases import fresh_database_url, migrate
from tests.factories import post_form

MISBEHAVING = {
    "Sleep": "import time\ntime.sleep(1.5)\nprint('slept')",
    "Echo": (
        "import tensorflow as tf\nx = tf.constant([1, 2]) * 3\n"
        "print('sum', int(tf.reduce_sum(x)))\nx"
    ),
    "Side by side": "import tensorflow as tf\nprint(tf.range(3).device.split(':')[-2])",
}


def misbehaving_question() -> str:
    """A question file with a slow demo, a notebook-style one and one for each device."""
    demos = "\n".join(
        f"## Demo: {title}\n\n```python\n{code}\n```\n"
        + ("\n```expect\ndevices: [cpu, gpu]\n```\n" if title == "Side by side" else "")
        for title, code in MISBEHAVING.items()
    )
    rubric = '```yaml\nkey_points:\n  - id: any\n    text: Anything.\n    any_of: ["anything"]\n```'
    return (
        "---\nid: 9a1c3f7e-0000-4c1d-8e5f-123456789abc\nnumber: 50\ntitle: Misbehaviour\n"
        "topic: Testing\n---\n\n## Question\n\nWhat breaks?\n\n## Reference answer\n\n"
        f"Nothing.\n\n## Rubric\n\n{rubric}\n\n{demos}"
    )


DEMO = {title: index for index, title in enumerate(MISBEHAVING, start=1)}


@pytest.fixture(scope="module")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with one worker, short limits, Q3 and the misbehaving question."""
    folder = tmp_path_factory.mktemp("demos")
    questions = folder / "questions"
    questions.mkdir()
    shutil.copy(PROJECT_ROOT / "questions" / "03-range-vs-constant.md", questions)
    (questions / "50-misbehaviour.md").write_text(misbehaving_question())
    settings = Settings(
        data_dir=folder,
        database_url=fresh_database_url(),
        demo_limit_per_session=10_000,  # these tests run demos back to back
        demo_limit_per_address=10_000,
        demo_in_flight_per_client=10,  # one test runs three demos at once from one client
        questions_dir=questions,
        secret_key="demo-test-secret-key-0123456789abcdef",
        demo_workers=1,
        demo_timeout_s=4,
        demo_max_output_bytes=64 * 1024,
        demo_queue_size=4,
    )
    migrate(settings)
    return settings


@pytest.fixture(scope="module")
def plain_settings(demo_settings: Settings) -> Settings:
    """The same settings with workers that do not import TensorFlow."""
    return demo_settings.model_copy(update={"demo_worker_tf": False})


@pytest.fixture(scope="module")
def demo_client(demo_settings: Settings) -> Iterator[TestClient]:
    """One app with a warm pool for the whole module (TensorFlow starts once)."""
    with TestClient(create_app(demo_settings)) as client:
        assert run(client, 3, 1)["status"] == "ok"  # waits for the worker to be warm
        yield client


def run(client: TestClient, n: int, k: int) -> dict[str, Any]:
    """Run a demo live through the API."""
    response = client.post(f"/api/questions/{n}/demos/{k}/run")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.slow
def test_every_shipped_demo_shows_what_its_answer_claims_on_a_reused_worker() -> None:
    # Twice each: workers serve many runs, and Keras, for one, numbers what it names per process.
    result = subprocess.run(
        [sys.executable, "-m", "app", "verify", "--repeat", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "11 of 11 questions verified on TensorFlow" in result.stdout


@pytest.mark.slow
def test_a_run_reports_output_version_device_and_tensors(demo_client: TestClient) -> None:
    result = run(demo_client, 3, 1)
    assert result["status"] == "ok" and result["expectations_met"] is True
    assert "dtype=int32" in result["stdout"] and "dtype=int64" in result["stdout"]
    assert result["tf_version"].startswith("2.") and result["device_kind"] in ("cpu", "gpu")
    assert any(device["type"] == "CPU" for device in result["devices"])
    dtypes = {t["name"]: t["dtype"] for t in result["tensors"]}
    assert dtypes == {"a": "int32", "b": "int64"}
    assert all("device:" in t["device"] for t in result["tensors"])
    assert result["cached"] is False and result["duration_ms"] > 0


@pytest.mark.slow
def test_the_last_expression_is_shown_like_a_notebook(demo_client: TestClient) -> None:
    result = run(demo_client, 50, DEMO["Echo"])
    assert result["stdout"] == "sum 9\n"
    assert result["value"].startswith("<tf.Tensor: shape=(2,), dtype=int32, numpy=array([3, 6]")


@pytest.mark.slow
def test_results_are_cached_and_survive_a_restart(
    demo_client: TestClient, demo_settings: Settings
) -> None:
    live = run(demo_client, 3, 2)
    cached = demo_client.get("/api/questions/3/demos/2").json()
    assert cached["cached"] is True and cached["stdout"] == live["stdout"]
    offline = demo_settings.model_copy(update={"demo_workers": 0})
    with TestClient(create_app(offline)) as restarted:
        again = restarted.get("/api/questions/3/demos/2")
        assert again.status_code == 200 and again.json()["cached"] is True
        never_ran = restarted.get(f"/api/questions/50/demos/{DEMO['Sleep']}")
        assert never_ran.status_code == 404
        assert "not run yet on this server" in never_ran.json()["detail"]
        cannot_run = restarted.post(f"/api/questions/50/demos/{DEMO['Sleep']}/run")
        assert cannot_run.status_code == 503
        assert "turned off" in cannot_run.json()["detail"]


def test_a_get_never_runs_a_demo(client: TestClient) -> None:
    never_ran = client.get("/api/questions/3/demos/1")
    assert never_ran.status_code == 404
    assert "not run yet on this server" in never_ran.json()["detail"]
    assert "POST /api/questions/3/demos/1/run" in never_ran.json()["detail"]


@pytest.mark.slow
def test_side_by_side_runs_on_each_device_present(demo_client: TestClient) -> None:
    result = run(demo_client, 50, DEMO["Side by side"])
    assert result["status"] == "ok"
    assert result["stdout"].startswith("── on CPU ──\nCPU\n── on GPU ──\n")
    if result["device_kind"] == "cpu":
        assert "(no GPU on this server: skipped)" in result["stdout"]


@pytest.mark.slow
def test_output_streams_before_the_result(demo_client: TestClient) -> None:
    with demo_client.stream("POST", "/api/questions/3/demos/1/run/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = [block.split("\n") for block in body.strip().split("\n\n")[1:]]
    names = [lines[0].removeprefix("event: ") for lines in events]
    assert names[-1] == "result" and "output" in names[:-1]
    first_output = json.loads(events[names.index("output")][1].removeprefix("data: "))
    assert "dtype=int32" in first_output["text"]
    assert json.loads(events[-1][1].removeprefix("data: "))["status"] == "ok"


@pytest.mark.slow
def test_concurrent_runs_all_complete_with_their_own_output(demo_client: TestClient) -> None:
    jobs = [(3, 1), (50, DEMO["Echo"]), (3, 2), (50, DEMO["Echo"])]
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda job: run(demo_client, *job), jobs))
    assert [r["status"] for r in results] == ["ok"] * len(jobs)
    assert "dtype=int64" in results[0]["stdout"] and results[1]["stdout"] == "sum 9\n"
    assert "InvalidArgumentError" in results[2]["stdout"]


def test_a_full_queue_answers_503_with_retry_after(plain_settings: Settings) -> None:
    settings = plain_settings.model_copy(update={"demo_queue_size": 0})
    with TestClient(create_app(settings)) as client:
        state = client.app.state.pool.state  # type: ignore[attr-defined]
        for _ in range(600):  # no run may queue, so wait for the worker before the first
            if state["ready"]:
                break
            time.sleep(0.1)
            state = client.app.state.pool.state  # type: ignore[attr-defined]
        with ThreadPoolExecutor(1) as pool:
            sleeping = pool.submit(run, client, 50, DEMO["Sleep"])
            for _ in range(100):  # until the sleeping run holds the only worker
                if client.app.state.pool.state["busy"]:  # type: ignore[attr-defined]
                    break
                time.sleep(0.01)
            refused = client.post("/api/questions/3/demos/1/run")
            assert sleeping.result()["stdout"] == "slept\n"
    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) >= 1 and "busy" in refused.json()["detail"]


@pytest.mark.slow
def test_requests_carry_no_code(demo_client: TestClient) -> None:
    response = demo_client.post("/api/questions/3/demos/1/run", json={"code": "print('injected')"})
    assert "injected" not in response.text and "dtype=int32" in response.json()["stdout"]


def test_unknown_demos_get_404(client: TestClient) -> None:
    for path in (
        "/api/questions/3/demos/9",
        "/api/questions/3/demos/0",
        "/api/questions/99/demos/1",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
    assert "has demos 1 to 2" in client.get("/api/questions/3/demos/9").json()["detail"]


@pytest.mark.slow
def test_pages_show_demo_results(demo_client: TestClient) -> None:
    run(demo_client, 3, 1)
    page = demo_client.get("/questions/3")
    assert "Live demos (2)" in page.text and "dtype=int64" in page.text
    assert 'class="dtype dtype-int64"' in page.text
    presenter = demo_client.get("/present")  # the first demo, with the output it cached
    assert presenter.status_code == 200 and 'class="dtype dtype-int64"' in presenter.text
    assert "Question 50: Misbehaviour" in demo_client.get("/present/50/1").text
    form = post_form(demo_client, "/questions/3/demos/1/run", {}, "/questions/3")
    assert form.status_code == 303 and form.headers["location"].endswith("#demo-1")


@pytest.mark.slow
def test_workers_are_recycled_after_their_quota(demo_settings: Settings) -> None:
    settings = demo_settings.model_copy(update={"demo_recycle_after": 2})
    with TestClient(create_app(settings)) as client:
        for _ in range(5):
            result = run(client, 50, DEMO["Echo"])
            assert result["status"] == "ok" and result["stdout"] == "sum 9\n"
        state = client.app.state.pool.state  # type: ignore[attr-defined]
        assert state["restarts"] >= 2
