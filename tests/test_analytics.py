"""Dashboard figures, checked against numbers worked out by hand on a small class.

The class is built through the public API; a few counted scores are then changed in the
database, as an instructor's override would change them, so that best *counted* scores
differ from the automatic ones.
"""

from __future__ import annotations

import math
import statistics
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.analytics import Analysis, analyse, optional_points, pearson
from app.charts import histogram_svg
from app.config import PROJECT_ROOT
from app.models import Attempt
from app.policy import RevealPolicy, save_reveal_policy
from app.questions import load_folder
from tests.factories import GOOD_Q3, answer_api, start

BANK = load_folder(PROJECT_ROOT / "questions")
STRONG_Q1 = BANK.questions[1].reference_markdown  # meets every key point: auto score 1.0
WEAK = "I do not know."  # misses every key point: auto score 0.0
BOTH_INT64 = "They are the same dtype, both are int64, so yes you can add them."  # 0.0
Q1, Q3 = (str(BANK.questions[n].id) for n in (1, 3))
# Q3's four attempts: Bea's two (BOTH_INT64) meet no key point; Ada's and Cy's (GOOD_Q3,
# full marks) meet both required points. Optional points are never "missed" (a complete
# answer need not make them), so the two required points are missed twice each.
Q3_MISSED = {p.id: 2 for p in BANK.questions[3].rubric.key_points if not p.optional}


@dataclass
class Klass:
    """The learners' ids and the attempts' ids, by learner name."""

    learners: dict[str, int]
    attempts: dict[str, list[int]]


def answer_as(app: FastAPI, name: str, answers: list[tuple[int, str]]) -> tuple[int, list[int]]:
    """Answer as one learner, from their own browser; return their id and attempt ids."""
    ids = []
    with TestClient(app) as browser:
        for number, text in answers:
            response = answer_api(browser, number, text, learner=name)
            assert response.status_code == 201, response.text
            ids.append(response.json()["attempt_id"])
    with app.state.db.reading() as session:
        learner_id = session.get(Attempt, ids[0]).learner_id
    return learner_id, ids


def override(app: FastAPI, attempt_id: int, score: float) -> None:
    """Change an attempt's counted score, as an instructor's override does."""
    with app.state.db.writing() as session:
        attempt = session.get(Attempt, attempt_id)
        attempt.final_score = score
        attempt.final_points = round(score * attempt.max_points, 2)


def make_class(app: FastAPI) -> Klass:
    """Build the class the expectations below were worked out for.

    Best counted scores:   Q1    Q3    total points
        Ada               1.0   0.5   15
        Bea               0.5   0.0    5
        Cy                0.0   1.0   10
        Dan               0.8   -      8
        Eve               -     -      - (signed in, never answered)
    """
    plan = {
        "Ada": [(1, WEAK), (1, STRONG_Q1), (3, GOOD_Q3)],
        "Bea": [(1, STRONG_Q1), (3, BOTH_INT64), (3, BOTH_INT64)],
        "Cy": [(1, WEAK), (3, GOOD_Q3)],
        "Dan": [(1, STRONG_Q1)],
    }
    # Ada and Bea answer again after a response that, once revealed, names the missed key
    # points: that would make the second attempt practice. The reference stays unrevealed,
    # so every attempt counts, as the figures below were worked out.
    with app.state.db.writing() as session:
        save_reveal_policy(session, RevealPolicy(mode="released"))
    klass = Klass({}, {})
    for name, answers in plan.items():
        klass.learners[name], klass.attempts[name] = answer_as(app, name, answers)
    override(app, klass.attempts["Ada"][2], 0.5)
    override(app, klass.attempts["Bea"][0], 0.5)
    override(app, klass.attempts["Dan"][0], 0.8)
    with TestClient(app) as browser:
        assert start(browser, "Eve").status_code == 200
    return klass


@pytest.fixture
def analysis(app: FastAPI, client: TestClient) -> Analysis:
    """The analysis of the hand-worked class."""
    make_class(app)
    with app.state.db.reading() as session:
        return analyse(session, BANK.ids(), optional=optional_points(BANK.ordered()))


def test_class_figures(analysis: Analysis) -> None:
    overall = analysis.overall
    assert (overall.learners, overall.active_learners, overall.attempts) == (5, 4, 9)
    assert overall.mean_score == pytest.approx((1 + 0.5 + 0 + 0.8 + 0.5 + 0 + 1) / 7)
    assert overall.mean_total == pytest.approx((15 + 5 + 10 + 8) / 4)


def test_question_with_an_even_number_of_learners(analysis: Analysis) -> None:
    q1 = analysis.questions[Q1]
    assert (q1.learners, q1.attempts) == (4, 5)
    assert q1.mean_score == q1.facility == pytest.approx(0.575)  # (1 + .5 + 0 + .8) / 4
    assert q1.mean_points == pytest.approx(5.75)
    assert q1.median_score == pytest.approx(0.65)  # between 0.5 and 0.8
    assert q1.histogram == [1, 0, 0, 0, 0, 1, 0, 0, 1, 1]
    # Best scores [1, .5, 0, .8] against the rest of each total [5, 0, 10, 0]: deviations
    # from the means (.575, 3.75) give sums -3.625 (xy), .5675 (xx) and 68.75 (yy).
    assert q1.discrimination == pytest.approx(-3.625 / math.sqrt(0.5675 * 68.75))
    assert q1.discrimination == pytest.approx(
        statistics.correlation([1, 0.5, 0, 0.8], [5, 0, 10, 0])
    )


def test_question_with_an_odd_number_of_learners(analysis: Analysis) -> None:
    q3 = analysis.questions[Q3]
    assert (q3.learners, q3.attempts) == (3, 4)
    assert q3.mean_score == pytest.approx(0.5)
    assert q3.median_score == pytest.approx(0.5)
    assert q3.histogram == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    # Best scores [.5, 0, 1] against the rest [10, 5, 0]: sums -2.5 (xy), .5 (xx), 50 (yy).
    assert q3.discrimination == pytest.approx(-2.5 / math.sqrt(0.5 * 50))


def test_missed_points_and_misconceptions_are_counted_over_attempts(analysis: Analysis) -> None:
    q1, q3 = analysis.questions[Q1], analysis.questions[Q3]
    # Two of Q1's five attempts (Ada's first, Cy's) missed every key point.
    assert {c.id: c.count for c in q1.missed} == {
        p.id: 2 for p in BANK.questions[1].rubric.key_points if not p.optional
    }
    assert [c.id for c in q1.missed] == sorted(c.id for c in q1.missed)  # ties: by id
    assert {c.id: c.count for c in q3.missed} == Q3_MISSED
    assert len(Q3_MISSED) == 2 and sum(Q3_MISSED.values()) == 2 * 2
    assert [(c.id, c.count) for c in q3.misconceptions] == [("same-result", 2)]
    assert q1.misconceptions == []


def test_unanswered_questions_have_no_figures(analysis: Analysis) -> None:
    q2 = analysis.questions[str(BANK.questions[2].id)]
    assert (q2.learners, q2.attempts, q2.histogram) == (0, 0, [0] * 10)
    assert q2.mean_score is q2.median_score is q2.discrimination is None
    assert q2.missed == q2.misconceptions == []


def test_top_keeps_the_most_frequent(app: FastAPI, client: TestClient) -> None:
    make_class(app)
    with app.state.db.reading() as session:
        found = analyse(session, BANK.ids(), top=2)
    assert len(found.questions[Q1].missed) == 2


def test_an_empty_class(app: FastAPI, client: TestClient) -> None:
    with app.state.db.reading() as session:
        found = analyse(session, [Q1, Q3])
    assert (found.overall.learners, found.overall.attempts) == (0, 0)
    assert found.overall.mean_score is None and found.questions[Q1].median_score is None


@pytest.mark.parametrize(
    ("xs", "ys", "expected"),
    [
        ([1.0], [3.0], None),  # one learner
        ([0.5, 0.5, 0.5], [1.0, 2.0, 3.0], None),  # everyone scored the same
        ([1 / 3] * 4, [1.0, 2.0, 3.0, 4.0], None),  # the same, with rounding noise
        ([0.0, 0.5, 1.0], [0.0, 5.0, 10.0], 1.0),
    ],
)
def test_pearson_edge_cases(xs: list[float], ys: list[float], expected: float | None) -> None:
    sums = (sum(xs), sum(ys), sum(x * x for x in xs), sum(y * y for y in ys))
    sxy = sum(x * y for x, y in zip(xs, ys, strict=True))
    found = pearson(len(xs), *sums, sxy)
    assert found == (pytest.approx(expected) if expected is not None else None)


def test_histogram_svg_is_well_formed_and_escaped() -> None:
    svg = histogram_svg([0, 3, 0, 1, 0, 0, 0, 0, 2, 9], "c1", 'Scores <script>"x"</script>')
    root = ET.fromstring(str(svg))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find("svg:title", ns).text == 'Scores <script>"x"</script>'
    assert "10–20%: 3" in root.find("svg:desc", ns).text
    assert len(root.findall("svg:rect", ns)) == 10
    large = ET.fromstring(str(histogram_svg([0] * 10, "c2", "None yet", large=True)))
    assert "No learners yet" in large.find("svg:desc", ns).text
