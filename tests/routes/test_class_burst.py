"""A class pressing Run at once on a real server with default queue settings: no errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import cycle, islice
from pathlib import Path

import httpx2 as httpx
import pytest

from app.config import PROJECT_ROOT
from app.questions import load_folder
from tests.server import running_server, wait_for_demos

LEARNERS = 60


def every_demo() -> list[str]:
    """The run URL of every demo of the shipped questions."""
    bank = load_folder(PROJECT_ROOT / "questions")
    return [
        f"/api/questions/{question.number}/demos/{demo.index}/run"
        for question in bank.ordered()
        for demo in question.demos
    ]


@pytest.mark.slow
def test_sixty_learners_running_demos_at_once_all_get_their_result(tmp_path: Path) -> None:
    demos = every_demo()
    assert len(demos) == 27
    with running_server(tmp_path, env={"TFQUIZ_DEMO_WORKERS": "1"}) as url:
        wait_for_demos(url)
        browsers = [httpx.Client(base_url=url, timeout=300) for _ in range(LEARNERS)]
        for browser in browsers:
            browser.get("/")  # each learner's browser keeps its session cookie
        with ThreadPoolExecutor(LEARNERS) as threads:
            jobs = zip(browsers, islice(cycle(demos), LEARNERS), strict=True)
            responses = list(threads.map(lambda job: job[0].post(job[1]), jobs))
        state = httpx.get(url + "/readyz").json()["checks"]["demos"]
        for browser in browsers:
            browser.close()
    errors = [(r.status_code, r.text[:200]) for r in responses if r.status_code != 200]
    assert errors == []
    assert all(r.json()["cached"] is False for r in responses)
    assert state["waiting"] == 0 and state["wait"]["p50_ms"] is not None
