"""Live rounds through the instructor's pages, the learners' join link and the exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.databases import database_env
from tests.factories import GOOD_Q3, answer_page, post_form, start
from tests.server import add_instructor, running_server

WRONG_Q3 = "Yes, they are exactly the same tensor."


def open_round(client: TestClient, number: int = 3) -> tuple[int, object]:
    """Open a round through the form; return its id and the response."""
    response = post_form(
        client, "/instructor/rounds", {"number": str(number)}, "/instructor/rounds"
    )
    if response.status_code != 303:
        return 0, response
    return int(response.headers["location"].rsplit("/", 1)[1]), response


@pytest.fixture
def browsers(app: FastAPI, instructor_client: TestClient) -> Iterator[list[TestClient]]:
    """Three learners' browsers, signed in as Ada, Bob and Cy."""
    clients = [TestClient(app) for _ in range(3)]
    for client, name in zip(clients, ["Ada", "Bob", "Cy"], strict=True):
        client.__enter__()
        assert start(client, name).status_code == 200
    yield clients
    for client in clients:
        client.__exit__(None, None, None)


def figures(client: TestClient, round_id: int) -> dict[str, object]:
    response = client.get(f"/api/instructor/rounds/{round_id}")
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def test_round_pages_need_an_instructor(client: TestClient) -> None:
    for path in ("/instructor/rounds", "/instructor/rounds/1", "/instructor/rounds/1/screen"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/instructor/login")
    api = client.get("/api/instructor/rounds/1")
    assert api.status_code == 401
    assert client.get("/instructor/rounds/1/export.csv", follow_redirects=False).status_code == 303


def test_unknown_rounds_are_404(instructor_client: TestClient) -> None:
    for path in (
        "/instructor/rounds/99",
        "/instructor/rounds/99/screen",
        "/api/instructor/rounds/99",
    ):
        assert instructor_client.get(path).status_code == 404, path
    assert instructor_client.get("/instructor/rounds/99/events").status_code == 404
    assert instructor_client.get("/instructor/rounds/99/export.json").status_code == 404
    close = post_form(instructor_client, "/instructor/rounds/99/close", {}, "/instructor/rounds")
    assert close.status_code == 404


def test_opening_twice_is_refused_and_names_the_open_round(instructor_client: TestClient) -> None:
    round_id, _ = open_round(instructor_client)
    assert round_id
    _, again = open_round(instructor_client, 4)
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert f"Round {round_id} (question 3) is still open" in again.text  # type: ignore[attr-defined]
    _, missing = open_round(instructor_client, 999)
    assert missing.status_code in (409, 422)  # type: ignore[attr-defined]


def test_learners_join_the_open_round_through_the_short_link(
    instructor_client: TestClient, browsers: list[TestClient]
) -> None:
    learner = browsers[0]
    nothing = learner.get("/round", follow_redirects=False)
    assert nothing.status_code == 404 and "No round is open" in nothing.text
    open_round(instructor_client)
    found = learner.get("/round", follow_redirects=False)
    assert (found.status_code, found.headers["location"]) == (303, "/questions/3")


def test_each_learner_counts_once_and_other_attempts_do_not(
    instructor_client: TestClient, browsers: list[TestClient]
) -> None:
    ada, bob, cy = browsers
    answer_page(cy, 3, GOOD_Q3)  # before the round
    round_id, _ = open_round(instructor_client)
    answer_page(ada, 3, WRONG_Q3)
    answer_page(ada, 3, GOOD_Q3)  # Ada again: her latest counts
    answer_page(bob, 3, WRONG_Q3)
    answer_page(cy, 1, "Eager execution runs each operation at once.")  # another question
    data = figures(instructor_client, round_id)
    assert data["answered"] == 2
    mistakes = data["misconceptions"]
    assert [(m["id"], m["count"], m["demo"]) for m in mistakes] == [("same-result", 1, 1)]  # type: ignore[attr-defined]
    page = instructor_client.get(f"/instructor/rounds/{round_id}")
    assert '<strong class="round-count">2</strong> answered' in page.text
    assert "Run demo 1 on the screen" in page.text
    assert "Ada" not in page.text.split("<main", 1)[1] and "Bob" not in page.text


def test_picked_answers_reach_the_screen_and_closing_freezes(
    instructor_client: TestClient, browsers: list[TestClient]
) -> None:
    ada, bob, _ = browsers
    round_id, _ = open_round(instructor_client)
    answer_page(ada, 3, "Ada thinks: " + WRONG_Q3)
    answer_page(bob, 3, GOOD_Q3)
    answers = figures(instructor_client, round_id)["answers"]
    wrong = next(a for a in answers if "thinks" in a["text"])  # type: ignore[attr-defined]
    assert wrong["text"].startswith("[name] thinks")
    screen = f"/instructor/rounds/{round_id}/screen"
    assert "[name] thinks" not in instructor_client.get(screen).text
    live = f"/instructor/rounds/{round_id}"
    shown = post_form(
        instructor_client,
        f"{live}/picks",
        {"attempt": str(wrong["attempt_id"]), "shown": "yes"},
        live,
    )
    assert shown.status_code == 303
    assert "[name] thinks" in instructor_client.get(screen).text
    demo = post_form(instructor_client, f"{live}/demo", {"k": "1"}, live)
    assert demo.status_code == 303
    assert 'data-runs="1"' in instructor_client.get(screen).text
    assert post_form(instructor_client, f"{live}/demo", {"k": "9"}, live).status_code == 409
    assert post_form(instructor_client, f"{live}/close", {}, live).status_code == 303
    again = post_form(instructor_client, f"{live}/close", {}, live)
    assert again.status_code == 409 and "already closed" in again.text
    answer_page(ada, 3, GOOD_Q3)  # after closing
    assert figures(instructor_client, round_id)["answered"] == 2
    dashboard = instructor_client.get("/instructor/").text
    assert f"Round {round_id}: question 3" in dashboard
    late_pick = post_form(
        instructor_client,
        f"{live}/picks",
        {"attempt": str(wrong["attempt_id"]), "shown": "no"},
        live,
    )
    assert late_pick.status_code == 409


def test_exports_carry_figures_and_anonymised_answers_with_formulas_neutralised(
    instructor_client: TestClient, browsers: list[TestClient]
) -> None:
    ada, _, _ = browsers
    round_id, _ = open_round(instructor_client)
    answer_page(ada, 3, '=HYPERLINK("x") Ada says ' + WRONG_Q3)
    live = f"/instructor/rounds/{round_id}"
    post_form(instructor_client, f"{live}/close", {}, live)
    exported = instructor_client.get(f"{live}/export.csv")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows[0]["kind"] == "round" and rows[0]["count"] == "1"
    (answer,) = [row for row in rows if row["kind"] == "answer"]
    assert answer["text"].startswith("'=HYPERLINK") and "[name] says" in answer["text"]
    assert any(row["kind"] == "misconception" and row["id"] == "same-result" for row in rows)
    document = instructor_client.get(f"{live}/export.json").json()
    assert document["answered"] == 1 and document["closed_at"]
    assert "Ada" not in exported.text and "Ada" not in str(document)


@pytest.mark.slow
def test_the_event_stream_sends_the_figures_when_an_answer_arrives(tmp_path: Path) -> None:
    database = database_env()  # the CLI must use the server's database
    with (
        running_server(tmp_path, env=database) as url,
        httpx.Client(base_url=url, timeout=30) as presenter,
    ):
        email = "stream@example.org"
        password = add_instructor(tmp_path, database, email)
        page = presenter.get("/instructor/login").text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        login = {"email": email, "password": password, "csrf_token": token}
        assert presenter.post("/instructor/login", data=login).status_code == 303
        opened = presenter.post("/instructor/rounds", data={"number": "3", "csrf_token": token})
        assert opened.status_code == 303, opened.text
        events = opened.headers["location"] + "/events"
        with presenter.stream("GET", events) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            seen = (
                json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")
            )
            first = next(seen)
            assert (first["answered"], first["closed"]) == (0, False)
            with httpx.Client(base_url=url, timeout=30) as phone:
                body = {"learner": "Ada", "text": WRONG_Q3}
                assert phone.post("/api/questions/3/answers", json=body).status_code == 201
            second = next(seen)  # nothing is sent until the figures change
            assert second["answered"] == 1
            assert "same tensor" in second["html"] and "Ada" not in second["html"]
