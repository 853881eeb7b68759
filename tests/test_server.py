"""A real uvicorn server on a real SQLite file: start-up and concurrent submitters."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import create_engine, text

from tests.databases import database_env
from tests.factories import GOOD_Q3
from tests.server import running_server

pytestmark = pytest.mark.slow
SUBMITTERS = 16
ANSWERS_EACH = 8


def test_web_process_never_imports_tensorflow() -> None:
    code = (
        "import sys; from app.main import create_app; from app.config import Settings; "
        "import tempfile; create_app(Settings(data_dir=tempfile.mkdtemp(), secret_key='k'*40)); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_concurrent_submitters_are_never_refused(tmp_path: Path) -> None:
    env = database_env()
    database_url = env.get("TFQUIZ_DATABASE_URL", f"sqlite:///{tmp_path / 'tfquiz.sqlite3'}")
    with running_server(tmp_path, env=env) as url:

        def submit_all(learner: int) -> list[tuple[int, int]]:
            outcomes = []
            with httpx.Client(base_url=url, timeout=30) as client:
                for n in range(ANSWERS_EACH):
                    body = {"learner": f"learner-{learner}", "text": f"{GOOD_Q3} ({n})"}
                    response = client.post("/api/questions/3/answers", json=body)
                    outcomes.append((response.status_code, response.json().get("attempt_id", 0)))
            return outcomes

        with ThreadPoolExecutor(SUBMITTERS) as pool:
            results = [o for batch in pool.map(submit_all, range(SUBMITTERS)) for o in batch]

    assert [status for status, _ in results] == [201] * SUBMITTERS * ANSWERS_EACH
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT id FROM attempt")).scalars().all()
        learners = connection.execute(text("SELECT count(*) FROM learner")).scalar()
    engine.dispose()
    assert sorted(stored) == sorted(attempt_id for _, attempt_id in results)
    assert learners == SUBMITTERS
    assert "database is locked" not in (tmp_path / "server.log").read_text()


def test_serve_prints_a_one_time_setup_link_until_an_instructor_exists(tmp_path: Path) -> None:
    env = database_env()
    with running_server(tmp_path, env=env) as url:
        log = (tmp_path / "server.log").read_text()
        link = re.search(r"(http://127\.0\.0\.1:\d+/instructor/setup\?token=\S+)", log)
        assert link, log
        form = httpx.get(link.group(1))
        assert form.status_code == 200 and "Create the first instructor account" in form.text
        assert url in link.group(1)
    subprocess.run(
        [sys.executable, "-m", "app", "instructor", "add", "x@example.org", "--generate"],
        env={**os.environ, "TFQUIZ_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        check=True,
    )
    with running_server(tmp_path, env=env):
        assert "instructor/setup?token=" not in (tmp_path / "server.log").read_text()
