"""The instructor dashboard: overview, sortable paginated matrix, question and learner pages."""

from __future__ import annotations

import html as markup
import re
import xml.etree.ElementTree as ET

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.factories import answer_api
from tests.test_analytics import BANK, Q3_MISSED, WEAK, Klass, answer_as, make_class

ROW_NAME = re.compile(r'<th scope="row"><a href="/instructor/learners/\d+">([^<]+)</a></th>')
SVG = re.compile(r"<svg .*?</svg>", re.DOTALL)


def matrix_names(html: str) -> list[str]:
    """Return the learners' names in the matrix, top to bottom."""
    return ROW_NAME.findall(html)


@pytest.fixture
def klass(app: FastAPI, instructor_client: TestClient) -> Klass:
    """The hand-worked class of tests/test_analytics.py, with an instructor signed in."""
    return make_class(app)


def test_overview_shows_the_headline_figures(instructor_client: TestClient, klass: Klass) -> None:
    page = instructor_client.get("/instructor/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = re.sub(r"\s+", " ", page.text)
    assert '<dt>Learners</dt><dd>5</dd><dd class="muted">4 have answered</dd>' in text
    assert "<dt>Attempts</dt><dd>9</dd>" in text
    assert "<dt>Mean score</dt><dd>54%</dd>" in text  # 3.8 / 7
    assert "<dt>Mean total</dt><dd>9.5 / 110</dd>" in text
    assert '"/instructor/questions/1">Q1</a> <span class="dash-title">What is TensorFlow?' in text
    assert "−0.58" in text  # Q1's discrimination, with a true minus sign
    assert "same-result" in text  # Q3's most frequent misconception


def test_heat_map_cells_print_their_numbers(instructor_client: TestClient, klass: Klass) -> None:
    html = instructor_client.get("/instructor/").text
    ada = html[html.index(">Ada</a>") : html.index("</tr>", html.index(">Ada</a>"))]
    cells = re.findall(r'<td class="num heat heat-(\d)"[^>]*>([^<]+)</td>', ada)
    assert cells == [("4", "10.0"), ("2", "5.0")]  # Q1 best of two attempts, Q3 overridden
    assert ada.count("not answered") == 9
    assert re.search(r'<td class="num total">15\.0</td>', ada)
    assert "Shades:" in html


def test_matrix_sorts_by_name_total_and_question(
    instructor_client: TestClient, klass: Klass
) -> None:
    get = instructor_client.get
    assert matrix_names(get("/instructor/").text) == ["Ada", "Bea", "Cy", "Dan", "Eve"]
    assert matrix_names(get("/instructor/?sort=name&order=desc").text)[0] == "Eve"
    by_total = get("/instructor/?sort=total&order=desc").text
    assert matrix_names(by_total) == ["Ada", "Cy", "Dan", "Bea", "Eve"]
    assert matrix_names(get("/instructor/?sort=Q1").text) == ["Ada", "Dan", "Bea", "Cy", "Eve"]
    # Unanswered counts below zero, so it leads in ascending order; ties go by name.
    ascending = get("/instructor/?sort=q3&order=asc").text
    assert matrix_names(ascending) == ["Dan", "Eve", "Bea", "Ada", "Cy"]
    # Headings are links: the current column reverses, the others start high.
    assert 'aria-sort="ascending"' in ascending
    assert 'href="?sort=q3&amp;order=desc"' in ascending
    assert 'href="?sort=total&amp;order=desc"' in ascending
    assert 'href="?sort=name&amp;order=asc"' in ascending


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sort=q99", "Cannot sort by “q99”: use name, total or q1 to q11."),
        ("sort=%3Cscript%3E", "Cannot sort by “&lt;script&gt;”"),
        ("sort=q%C2%B2", "Cannot sort by “q²”"),
        ("order=sideways", "The order must be asc or desc."),
    ],
)
def test_bad_sort_parameters_are_explained(
    instructor_client: TestClient, query: str, message: str
) -> None:
    page = instructor_client.get(f"/instructor/?{query}")
    assert page.status_code == 400 and message in page.text


def test_matrix_is_paginated(app: FastAPI, instructor_client: TestClient) -> None:
    for index in range(53):
        assert answer_api(instructor_client, 2, WEAK, learner=f"L{index:02d}").status_code == 201
    first = instructor_client.get("/instructor/?sort=name").text
    assert len(matrix_names(first)) == 50 and "Page 1 of 2" in first
    assert "learners 1–50 of 53" in first
    assert 'href="?sort=name&amp;order=asc&amp;page=2" rel="next"' in first
    second = instructor_client.get("/instructor/?sort=name&order=asc&page=2").text
    assert matrix_names(second) == ["L50", "L51", "L52"] and "learners 51–53 of 53" in second
    beyond = instructor_client.get("/instructor/?page=40")
    assert beyond.status_code == 200 and "Page 2 of 2" in beyond.text
    assert instructor_client.get("/instructor/?page=0").status_code == 422


def test_dashboard_runs_a_fixed_number_of_queries(
    app: FastAPI, instructor_client: TestClient, klass: Klass
) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    instructor_client.get("/instructor/")  # warm up
    event.listen(app.state.db.engine, "before_cursor_execute", count)
    try:
        assert instructor_client.get("/instructor/?sort=total").status_code == 200
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", count)
    # Analysis, matrix and pager, plus one count of the review queue (on its index).
    assert len([s for s in statements if "attempt" in s]) <= 6, statements


def test_charts_are_well_formed_svg(instructor_client: TestClient, klass: Klass) -> None:
    ns = {"svg": "http://www.w3.org/2000/svg"}
    for path, expected in (("/instructor/", 11), ("/instructor/questions/1", 1)):
        charts = SVG.findall(instructor_client.get(path).text)
        assert len(charts) == expected
        for chart in charts:
            root = ET.fromstring(chart)
            assert root.find("svg:title", ns) is not None
            assert root.find("svg:desc", ns) is not None
    large = ET.fromstring(SVG.findall(instructor_client.get("/instructor/questions/1").text)[0])
    assert "0–10%: 1, 50–60%: 1, 80–90%: 1, 90–100%: 1" in large.find("svg:desc", ns).text


def test_question_page_lists_every_key_point_and_misconception(
    instructor_client: TestClient, klass: Klass
) -> None:
    page = instructor_client.get("/instructor/questions/3")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert "<dt>Median</dt><dd>50%</dd>" in text
    assert "<dt>Discrimination</dt><dd>−0.50</dd>" in text
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td>', text)
    texts = {p.text: p.id for p in BANK.questions[3].rubric.key_points}
    # Every key point is listed; an optional one is never counted as missed.
    expected = {point: Q3_MISSED.get(point, 0) for point in texts.values()}
    assert {texts[markup.unescape(t)]: int(count) for t, count in rows} == expected
    assert len(rows) == 8
    assert '<th scope="row">same-result</th>' in text and "50%" in text
    assert 'href="/instructor/?sort=q3&amp;order=asc"' in text


def test_learner_page_shows_every_attempt(
    app: FastAPI, instructor_client: TestClient, klass: Klass
) -> None:
    first, second, third = klass.attempts["Ada"]
    page = instructor_client.get(f"/instructor/learners/{klass.learners['Ada']}")
    assert page.status_code == 200
    html = page.text
    # Newest first within a question; questions in quiz order.
    assert html.index(f"Attempt {second} ") < html.index(f"Attempt {first} ")
    assert html.index(f"Attempt {first} ") < html.index(f"Attempt {third} ")
    for attempt_id in (first, second, third):
        assert f'href="/instructor/attempts/{attempt_id}"' in html
    assert html.count("changed by an instructor") == 1  # the overridden Q3 attempt
    assert "Missed:</span> TensorFlow is" in re.sub(r"\s+", " ", html)
    assert "Met:</span>" in html
    assert "Not answered yet." in html and "15 / 110" in html


def test_learner_answers_are_rendered_inert(app: FastAPI, instructor_client: TestClient) -> None:
    hostile = '<script>alert("x")</script> and <img src=x onerror="alert(1)">'
    learner_id, _ = answer_as(app, "Mallory", [(2, hostile)])
    html = instructor_client.get(f"/instructor/learners/{learner_id}").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/instructor/learners/999", "There is no learner 999."),
        ("/instructor/learners/abc", "No such page"),
        ("/instructor/learners/99999999999999999999", "No such page"),
        ("/instructor/questions/99", "There is no question 99. Questions are numbered 1 to 11."),
    ],
)
def test_unknown_learners_and_questions_get_404(
    instructor_client: TestClient, path: str, message: str
) -> None:
    page = instructor_client.get(path)
    assert page.status_code == 404 and message in page.text


def test_overview_api_matches_the_page(instructor_client: TestClient, klass: Klass) -> None:
    body = instructor_client.get("/api/instructor/overview").json()
    assert (body["learners"], body["active_learners"], body["attempts"]) == (5, 4, 9)
    assert body["mean_score"] == pytest.approx(3.8 / 7, abs=1e-4)
    assert body["possible_total"] == 110
    q1 = body["questions"][0]
    assert (q1["number"], q1["learners"], q1["attempts"]) == (1, 4, 5)
    assert (q1["median_score"], q1["facility"]) == (0.65, 0.575)
    assert q1["histogram"] == [1, 0, 0, 0, 0, 1, 0, 0, 1, 1]
    required = [p for p in BANK.questions[1].rubric.key_points if not p.optional]
    assert len(q1["missed_points"]) == len(required) == 7
    assert q1["missed_points"][0]["rate"] == 0.4
    q3 = body["questions"][2]
    assert q3["misconceptions"][0]["id"] == "same-result"
    assert q3["discrimination"] == -0.5


def test_overview_api_needs_an_instructor(client: TestClient) -> None:
    response = client.get("/api/instructor/overview")
    assert response.status_code == 401 and "Sign in as an instructor" in response.json()["detail"]


def test_the_dashboard_shows_the_demo_workers_load(instructor_client: TestClient) -> None:
    page = instructor_client.get("/instructor/").text
    assert "Demo workers" in page
    assert "0 busy, 0 runs waiting; no run waited yet" in page
