"""Identical live runs at once share one worker execution, through every way to run a demo."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.demos.protocol import RunOutcome
from app.main import create_app
from tests.factories import csrf
from tests.routes.test_limits import wait_for
from tests.server import running_server, wait_for_demos

TWO_PARTS = """---
id: 9a1c3f7e-0000-4c1d-8e5f-0000000000f2
number: 61
title: A demo in two parts
topic: Testing
---

## Question

What comes second?

## Reference answer

The rest.

## Rubric

```yaml
key_points:
  - id: any
    text: Anything.
    any_of: ["anything"]
```

## Demo: Two parts

```python
import time
print('first', flush=True)
time.sleep(2)
print('second')
```
"""
RUN = "/api/questions/61/demos/1/run"


def two_part_questions(folder: Path) -> Path:
    """A questions folder holding the two-part demo only."""
    questions = folder / "questions"
    questions.mkdir()
    (questions / "61-two-parts.md").write_text(TWO_PARTS)
    return questions


def plain_app(settings: Settings, folder: Path) -> FastAPI:
    """An app with one real sandboxed worker that skips TensorFlow's start, limits raised."""
    return create_app(plain_settings(settings, folder))


def plain_settings(settings: Settings, folder: Path) -> Settings:
    """The settings of ``plain_app``, its questions in ``folder``."""
    return settings.model_copy(
        update={
            "questions_dir": two_part_questions(folder),
            "demo_workers": 1,
            "demo_worker_tf": False,
            "demo_timeout_s": 10,
            "demo_limit_per_session": 1000,
            "demo_limit_per_address": 1000,
        }
    )


def test_identical_concurrent_runs_make_one_execution(settings: Settings, tmp_path: Path) -> None:
    outcomes: list[RunOutcome | None] = []
    with TestClient(plain_app(settings, tmp_path)) as client:
        app = client.app
        assert isinstance(app, FastAPI)
        wait_for(app, ready=True)
        app.state.pool.add_observer(lambda outcome, seconds: outcomes.append(outcome))
        browsers = [TestClient(app, client=(f"198.51.100.{n}", 50000)) for n in range(1, 7)]
        streamer = TestClient(app, client=("198.51.100.9", 50000))
        with ThreadPoolExecutor(len(browsers) + 1) as threads:
            leader = threads.submit(browsers[0].post, RUN)
            wait_for(app, busy=1)  # the leader's run is on the worker: the rest join it
            stream = threads.submit(streamer.post, RUN + "/stream")
            joined = list(threads.map(lambda browser: browser.post(RUN), browsers[1:]))
            streamed = stream.result()
            responses = [leader.result(), *joined]
        token = csrf(client, "/questions/61")
        form = client.post("/questions/61/demos/1/run", data={"csrf_token": token})
    assert [r.status_code for r in responses] == [200] * len(responses)
    bodies = [r.json() for r in responses]
    assert all(body == bodies[0] for body in bodies)  # the same run: same output, same ran_at
    assert bodies[0]["stdout"] == "first\nsecond\n" and bodies[0]["cached"] is False
    result = json.loads(streamed.text.split("event: result\ndata: ")[1].split("\n")[0])
    assert result == bodies[0]  # a stream sent while the run was under way joined it too
    assert form.status_code in (200, 303)
    # The leader's run (the stream and the joiners shared it), then the form's own run.
    assert len(outcomes) == 2 and app.state.demo_runs.executions == 2


@pytest.mark.slow
def test_a_stream_that_joins_late_still_gets_the_whole_output(tmp_path: Path) -> None:
    env = {
        "TFQUIZ_QUESTIONS_DIR": str(two_part_questions(tmp_path)),
        "TFQUIZ_DEMO_WORKERS": "1",
        "TFQUIZ_DEMO_WORKER_TF": "false",
        "TFQUIZ_DEMO_TIMEOUT_S": "10",
    }
    with running_server(tmp_path, env=env) as url:
        wait_for_demos(url)
        leader_text = ""
        with httpx.stream("POST", url + RUN + "/stream", timeout=30) as leader:
            chunks = leader.iter_text()
            while '"first\\n"' not in leader_text:  # the run has printed its first part
                leader_text += next(chunks)
            late = httpx.post(url + RUN + "/stream", timeout=30)  # joins the run under way
            leader_text += "".join(chunks)
    assert late.status_code == 200
    assert outputs(late.text) == ["first\n", "second\n"] == outputs(leader_text)
    assert result_of(late.text) == result_of(leader_text)


def events(body: str) -> list[tuple[str, Any]]:
    """Parse a server-sent event stream into (name, data) pairs."""
    found = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def outputs(body: str) -> list[str]:
    """The output texts of a stream, in order."""
    return [data["text"] for name, data in events(body) if name == "output"]


def result_of(body: str) -> Any:
    """The result event's payload."""
    return next(data for name, data in events(body) if name == "result")


def test_a_waiting_stream_is_told_its_place_then_that_it_runs(
    settings: Settings, tmp_path: Path
) -> None:
    chosen = plain_settings(settings, tmp_path)
    (tmp_path / "questions" / "62-other.md").write_text(
        TWO_PARTS.replace("0000000000f2", "0000000000f3")
        .replace("number: 61", "number: 62")
        .replace("time.sleep(2)", "time.sleep(0.1)")
    )
    with TestClient(create_app(chosen)) as client:
        app = client.app
        assert isinstance(app, FastAPI)
        wait_for(app, ready=True)
        with ThreadPoolExecutor(1) as threads:
            holder = threads.submit(TestClient(app, client=("198.51.100.1", 1)).post, RUN)
            wait_for(app, busy=1)  # the worker is taken: the next run waits
            waited = TestClient(app, client=("198.51.100.2", 1)).post(
                "/api/questions/62/demos/1/run/stream"
            )
            assert holder.result().status_code == 200
    names = [name for name, _ in events(waited.text)]
    assert names[:2] == ["queued", "running"] and names[-1] == "result"
    assert events(waited.text)[0][1] == {"ahead": 0}
    assert outputs(waited.text) == ["first\n", "second\n"]


@pytest.mark.slow
def test_a_room_of_waiting_streams_leaves_the_pages_served(tmp_path: Path) -> None:
    """More streams wait than the app has threads (40): the pages must still be served.

    A stream waits in the event loop; one that held a thread while it waited would, 45 at
    once, leave no thread for a page until the run ended.
    """
    env = {
        "TFQUIZ_QUESTIONS_DIR": str(two_part_questions(tmp_path)),
        "TFQUIZ_DEMO_WORKERS": "1",
        "TFQUIZ_DEMO_WORKER_TF": "false",
        "TFQUIZ_DEMO_TIMEOUT_S": "30",
        "TFQUIZ_DEMO_LIMIT_PER_ADDRESS": "1000",
    }
    (tmp_path / "questions" / "61-two-parts.md").write_text(
        TWO_PARTS.replace("time.sleep(2)", "time.sleep(12)")
    )
    streams = 45
    with running_server(tmp_path, env=env) as url:
        wait_for_demos(url)
        started = threading.Semaphore(0)
        finished: list[str] = []

        def watch() -> None:
            with httpx.stream("POST", url + RUN + "/stream", timeout=60) as stream:
                chunks = stream.iter_text()
                next(chunks)  # the stream is open and waiting on the run
                started.release()
                finished.append("".join(chunks))

        with ThreadPoolExecutor(streams) as threads:
            watchers = [threads.submit(watch) for _ in range(streams)]
            for _ in range(streams):
                assert started.acquire(timeout=60), "a stream did not open"
            page = httpx.get(url + "/questions/61", timeout=60)
            served_while_running = not finished  # the run sleeps 12 s: no stream is over
            for watcher in watchers:
                watcher.result()
    assert page.status_code == 200 and served_while_running
    assert len(finished) == streams
    assert all(outputs(body) == ["first\n", "second\n"] for body in finished)
