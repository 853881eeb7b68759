"""The grader agreement page: labelled answers, figures per question, the largest gaps."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.labels import agreement_report, labelled_answers
from app.models import Attempt, utc_now
from tests.factories import answer_api, post_form, set_grade

PAGE = "/instructor/agreement"
KEY_POINTS = [
    {
        "id": "dtypes",
        "text": "tf.range gives int32, NumPy int64.",
        "weight": 1,
        "met": True,
        "evidence": [{"start": 0, "end": 5, "text": "int32", "phrase": "int32"}],
        "contradicted_by": [],
        "voided_by": [],
    },
    {
        "id": "cast",
        "text": "Cast before combining them.",
        "weight": 1,
        "met": False,
        "evidence": [],
        "contradicted_by": [],
        "voided_by": [],
    },
]


def stored_answer(app: FastAPI, number: int, learner: str, auto: float) -> int:
    """Store an answer whose automatic score is ``auto``; return its attempt id."""
    response = answer_api(TestClient(app), number, f"An answer by {learner}.", learner)
    attempt_id = int(response.json()["attempt_id"])
    with app.state.db.reading() as session:
        graded = session.get_one(Attempt, attempt_id).breakdown
    set_grade(app, attempt_id, score=auto, breakdown={**graded, "key_points": KEY_POINTS})
    return attempt_id


def override(client: TestClient, attempt_id: int, points: str) -> None:
    """Override an attempt's score from its review page."""
    page = f"/instructor/attempts/{attempt_id}"
    response = post_form(client, page, {"score": points, "comment": "Judged."}, page)
    assert response.status_code == 303


@pytest.fixture
def labelled(app: FastAPI, instructor_client: TestClient) -> dict[str, int]:
    """Q3: three judged answers (auto 0.2, 0.5, 0.9 against 0.8, 0.5, 0.4); Q1: one; Q2: none."""
    ids = {
        "under": stored_answer(app, 3, "Ada", 0.2),
        "kept": stored_answer(app, 3, "Bea", 0.5),
        "over": stored_answer(app, 3, "Cy", 0.9),
        "q1": stored_answer(app, 1, "Dan", 0.7),
        "untouched": stored_answer(app, 3, "Eve", 0.1),
    }
    override(instructor_client, ids["under"], "8")
    set_grade(app, ids["kept"], reviewed_at=utc_now())  # accepted from the review queue
    override(instructor_client, ids["over"], "4")
    override(instructor_client, ids["q1"], "7")
    return ids


def test_labelled_answers_are_the_judged_ones(app: FastAPI, labelled: dict[str, int]) -> None:
    with app.state.db.reading() as session:
        found = labelled_answers(session)
        report = agreement_report(session)
    assert [(a.question_number, a.auto, a.human) for a in found] == [
        (1, 0.7, 0.7),
        (3, 0.2, 0.8),
        (3, 0.5, 0.5),
        (3, 0.9, 0.4),
    ]
    assert report.overall.n == 4
    assert report.overall.mae == pytest.approx((0.6 + 0.5) / 4)
    assert (report.overall.over, report.overall.under) == (1, 1)
    q3 = next(v for k, v in report.questions.items() if report.numbers[k] == 3)
    # Grader ranks 1, 2, 3 against instructor ranks 3, 2, 1.
    assert q3.n == 3 and q3.spearman == pytest.approx(-1.0)
    assert q3.mae == pytest.approx(1.1 / 3)
    assert [d.attempt_id for d in report.worst] == [labelled["under"], labelled["over"]]


def test_the_page_shows_figures_and_the_largest_gaps_with_evidence(
    instructor_client: TestClient, labelled: dict[str, int]
) -> None:
    page = instructor_client.get(PAGE)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = re.sub(r"\s+", " ", page.text)
    assert "<dt>Labelled answers</dt><dd>4</dd>" in text
    assert "<dt>MAE</dt><dd>0.28</dd>" in text
    assert "<dt>Over-credited</dt><dd>1</dd>" in text
    q3 = text[text.index('href="/instructor/questions/3">Q3</a>') :]
    cells = re.findall(r'<td class="num">([^<]+)</td>', q3[: q3.index("</tr>")])
    assert cells == ["3", "0.37", "−1.00", "1", "1"]
    worst = text[text.index("Where grader and instructor differ most") :]
    assert worst.index(f"attempt {labelled['under']}") < worst.index(f"attempt {labelled['over']}")
    assert "under-credited by 60 points of 100" in worst
    assert "over-credited by 50 points of 100" in worst
    assert "matched “int32”" in worst and "Cast before combining them." in worst
    assert f'href="/instructor/attempts/{labelled["under"]}"' in worst
    assert f"attempt {labelled['untouched']}" not in text
    assert 'href="/instructor/questions/3/groups">Similar answers</a>' in text


def test_the_page_says_when_nothing_is_labelled(instructor_client: TestClient) -> None:
    page = instructor_client.get(PAGE).text
    assert "No answer has been judged by an instructor yet." in page
    assert "No labelled answer differs from its automatic score." in page
    assert 'href="/instructor/agreement">Agreement</a>' in page
