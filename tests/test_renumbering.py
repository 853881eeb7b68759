"""Renumbering question files under a server with history: every figure follows the uuid.

Two learners answer two questions; the files of questions 1 and 3 then swap numbers and
the server restarts on the same database, as after an instructor's edit. The dashboard,
the learner's summary and the exports must show each question's history under its new
number, and new answers must join the old ones.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import PROJECT_ROOT, Settings
from app.exports import export_stream
from app.main import create_app
from app.models import PlaygroundRun
from tests.factories import (
    GOOD_Q3,
    answer_page,
    continue_as,
    make_instructor,
    sign_in,
    start_with_code,
)
from tests.routes.test_dashboard import matrix_names
from tests.test_analytics import BOTH_INT64, STRONG_Q1, WEAK

TF, RANGE = "What is TensorFlow?", "tf.range(10) versus tf.constant(np.arange(10))"
SUMMARY_ROW = re.compile(
    r"<tr>\s*<td>(\d+)</td>\s*<td><a href=\"/questions/\d+\">([^<]+)</a></td>\s*"
    r"<td class=\"col-attempts\">(\d+)</td>.*?<td class=\"num\">([^<]+)</td>",
    re.DOTALL,
)
EXPORTS = ("scores.csv", "attempts.csv", "attempts.json")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the question files that the test may edit."""
    copy = tmp_path / "questions"
    shutil.copytree(PROJECT_ROOT / "questions", copy)
    return copy


@pytest.fixture
def settings(settings: Settings, folder: Path) -> Settings:
    """The test's settings, reading questions from the editable copy, playground on."""
    return settings.model_copy(update={"questions_dir": folder, "playground": True})


@pytest.fixture
def server(settings: Settings) -> Iterator[Callable[[], TestClient]]:
    """Start the app on the test's database; call again to restart it on the same one."""
    started: list[TestClient] = []

    def start_server() -> TestClient:
        if started:
            started[-1].__exit__(None, None, None)
            started[-1].app.state.db.engine.dispose()  # type: ignore[attr-defined]
        client = TestClient(create_app(settings))
        client.__enter__()
        started.append(client)
        return client

    yield start_server
    started[-1].__exit__(None, None, None)
    started[-1].app.state.db.engine.dispose()  # type: ignore[attr-defined]


def swap_numbers(folder: Path, first: str, second: str) -> None:
    """Swap the numbers in the front matter of two question files."""
    paths = [folder / first, folder / second]
    texts = [path.read_text(encoding="utf-8") for path in paths]
    numbers = [re.search(r"^number: (\d+)$", text, re.MULTILINE)[1] for text in texts]  # type: ignore[index]
    for path, text, number in zip(paths, texts, reversed(numbers), strict=True):
        path.write_text(re.sub(r"^number: \d+$", f"number: {number}", text, count=1, flags=re.M))


# Sign-in codes by database (a test's data folder), kept across restarts: name -> code.
CODES: dict[str, dict[str, str]] = {}


def learner(client: TestClient, name: str) -> TestClient:
    """Sign a learner in from a new browser: a new name starts, a known one gives its code."""
    browser = TestClient(client.app)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    codes = CODES.setdefault(f"{settings.data_dir} {settings.database_url}", {})
    if name in codes:
        assert continue_as(browser, name, codes[name]).status_code == 303
    else:
        codes[name] = start_with_code(browser, name)
    return browser


def answer(client: TestClient, name: str, number: int, text: str) -> None:
    """Answer a question as a learner, through the question page's form."""
    assert answer_page(learner(client, name), number, text).status_code == 303


def summary(client: TestClient, name: str) -> dict[str, tuple[int, str, str]]:
    """Return a learner's summary rows: number, attempts and points, by question title."""
    page = learner(client, name).get("/summary")
    assert page.status_code == 200
    return {
        title: (int(n), attempts, points)
        for n, title, attempts, points in SUMMARY_ROW.findall(page.text)
    }


def by_title(gradebook: str) -> dict[str, dict[str, str]]:
    """Return the gradebook CSV as learner -> question title (number left out) -> points."""
    rows = list(csv.reader(io.StringIO(gradebook)))
    titles = [re.sub(r"^Q\d+ ", "", header) for header in rows[0]]
    return {row[0]: dict(zip(titles[2:-2], row[2:-2], strict=True)) for row in rows[1:]}


def scores_json(client: TestClient) -> list[dict[str, Any]]:
    """Return the gradebook as ``tfquiz export scores --format json`` writes it."""
    app = client.app
    chunks = export_stream(app.state.db.reading, "scores", "json", app.state.bank.ordered())  # type: ignore[attr-defined]
    records: list[dict[str, Any]] = json.loads("".join(chunks))
    return records


def instructor(client: TestClient) -> TestClient:
    """Sign the client in as the instructor."""
    assert sign_in(client).status_code == 303
    return client


def test_renumbered_questions_keep_their_history(
    server: Callable[[], TestClient], folder: Path
) -> None:
    client = server()
    make_instructor(client.app)
    for name, number, text in [
        ("Ada", 1, STRONG_Q1),
        ("Ada", 3, BOTH_INT64),
        ("Bea", 1, WEAK),
        ("Bea", 3, GOOD_Q3),
    ]:
        answer(client, name, number, text)
    before = {name: summary(client, name) for name in ("Ada", "Bea")}
    teacher = instructor(TestClient(client.app))
    overview = {q["id"]: q for q in teacher.get("/api/instructor/overview").json()["questions"]}
    exports = {name: teacher.get(f"/instructor/export/{name}") for name in EXPORTS}
    assert before["Ada"][TF] == (1, "1", "10.0 / 10.0")
    assert before["Ada"][RANGE][0] == 3

    old_scores = {r["learner"]: r for r in scores_json(client)}
    swap_numbers(folder, "01-what-is-tensorflow.md", "03-range-vs-constant.md")
    client = server()
    assert client.get("/api/questions/3").json()["title"] == TF

    # The learner's summary: each question's best score and attempts, under its new number.
    after = {name: summary(client, name) for name in ("Ada", "Bea")}
    for name in ("Ada", "Bea"):
        assert after[name][TF] == (3, *before[name][TF][1:])
        assert after[name][RANGE] == (1, *before[name][RANGE][1:])
        assert after[name].keys() == before[name].keys()

    # The dashboard: every figure, missed key point and misconception stays with the uuid.
    teacher = instructor(TestClient(client.app))
    moved = {q["id"]: q for q in teacher.get("/api/instructor/overview").json()["questions"]}
    assert moved.keys() == overview.keys()
    for qid, figures in moved.items():
        assert {**figures, "number": overview[qid]["number"]} == overview[qid]
    tf_id = next(qid for qid, q in moved.items() if q["title"] == TF)
    assert moved[tf_id]["number"] == 3 and moved[tf_id]["missed_points"]
    detail = teacher.get("/instructor/questions/3").text
    assert TF in detail and "no longer in the rubric" not in detail
    assert matrix_names(teacher.get("/instructor/?sort=q3&order=desc").text) == ["Ada", "Bea"]
    assert matrix_names(teacher.get("/instructor/?sort=q1&order=desc").text) == ["Bea", "Ada"]

    # The exports: the gradebook's columns carry the new numbers over the same scores;
    # attempts keep their uuid and the number they were answered under.
    gradebook = teacher.get("/instructor/export/scores.csv").text
    assert by_title(gradebook) == by_title(exports["scores.csv"].text)
    assert f"Q3 {TF} (10)" in gradebook.splitlines()[0]
    for record in scores_json(client):
        old = old_scores[record["learner"]]["scores"]
        assert (record["scores"]["3"], record["scores"]["1"]) == (old["1"], old["3"])
        assert record["total"] == old_scores[record["learner"]]["total"]
    for name in ("attempts.csv", "attempts.json"):
        assert teacher.get(f"/instructor/export/{name}").text == exports[name].text

    # A new answer joins the question's history, not that of its old number.
    answer(client, "Bea", 3, STRONG_Q1)
    joined = {q["id"]: q for q in teacher.get("/api/instructor/overview").json()["questions"]}
    assert (joined[tf_id]["learners"], joined[tf_id]["attempts"]) == (2, 3)
    assert joined[tf_id]["mean_score"] == 1.0
    counts = [
        [(c["id"], c["count"]) for c in q[tf_id]["missed_points"]] for q in (joined, overview)
    ]
    assert counts[0] == counts[1]
    assert summary(client, "Bea")[TF] == (3, "2", "10.0 / 10.0")


def test_playground_history_follows_the_question(
    server: Callable[[], TestClient], folder: Path
) -> None:
    client = server()
    make_instructor(client.app)
    tf_id = str(client.app.state.bank.questions[1].id)  # type: ignore[attr-defined]
    with client.app.state.db.writing() as session:  # type: ignore[attr-defined]
        # A run of question 1 by uuid, and one recorded before uuids under number 3 that
        # no attempt could place (migration 0007): it goes with whichever question is 3.
        session.add_all(
            [
                PlaygroundRun(
                    question_id=tf_id,
                    question_number=1,
                    demo_index=1,
                    code="a",
                    code_hash="a" * 64,
                    status="ok",
                ),
                PlaygroundRun(
                    question_id=None,
                    question_number=3,
                    demo_index=1,
                    code="b",
                    code_hash="b" * 64,
                    status="ok",
                ),
            ]
        )
    swap_numbers(folder, "01-what-is-tensorflow.md", "03-range-vs-constant.md")
    teacher = instructor(TestClient(server().app))
    tf_page = teacher.get("/instructor/playground/3/1").text
    range_page = teacher.get("/instructor/playground/1/1").text
    assert "a" * 12 in tf_page and "b" * 12 in tf_page
    assert "a" * 12 not in range_page and "b" * 12 not in range_page
