"""The presenter view, its speaker notes and QR code, and the follow-along it drives."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.db import open_database
from app.instructors import create_instructor
from tests.databases import database_env
from tests.factories import (
    INSTRUCTOR_EMAIL,
    INSTRUCTOR_PASSWORD,
    TOKEN_RE,
    csrf,
    make_instructor,
    sign_in,
)
from tests.server import running_server

Q3_NOTE = "most expect int32 twice"  # from the notes of questions/03's first demo


def show(client: TestClient, number: int, demo: int) -> int:
    """Press "Show to followers" on a presenter slide, as the no-JS form does."""
    page = f"/present/{number}/{demo}"
    data = {"csrf_token": csrf(client, page)}
    response = client.post(f"{page}/show", data=data, follow_redirects=False)
    return response.status_code


def test_present_starts_at_the_first_demo_with_its_code_shown(client: TestClient) -> None:
    page = client.get("/present")
    assert page.status_code == 200
    assert "Question 1: What is TensorFlow?" in page.text
    assert "Demo 1: NumPy-like tensors on whatever hardware is there" in page.text
    assert "slide 1 of 27" in page.text
    code = page.text.split('class="present-code"', 1)[1].split("</section>", 1)[0]
    assert '<div class="highlight">' in code and "<details" not in code  # never folded
    assert '<span class="n">tf</span>' in code  # highlighted by pygments


def test_each_slide_links_to_its_neighbours_and_the_ends_are_marked(client: TestClient) -> None:
    first = client.get("/present/1/1").text
    assert 'href="/present/1/2" data-move="ArrowRight"' in first
    assert 'href="/present/2/1" data-move="PageDown"' in first
    assert 'aria-disabled="true">← Previous demo' in first
    middle = client.get("/present/3/1").text
    assert 'href="/present/2/3" data-move="ArrowLeft"' in middle  # back over a question
    assert 'href="/present/2/1" data-move="PageUp"' in middle
    assert 'href="/present/4/1" data-move="PageDown"' in middle
    last = client.get("/present/11/3").text
    assert "slide 27 of 27" in last and 'aria-disabled="true">Next demo →' in last


def test_an_unknown_slide_is_a_404_naming_what_exists(client: TestClient) -> None:
    missing = client.get("/present/3/9")
    assert missing.status_code == 404 and "has demos 1 to 2" in missing.text
    assert client.get("/present/99/1").status_code == 404


def test_the_run_button_is_a_form_for_the_demo_and_works_without_script(
    client: TestClient,
) -> None:
    page = client.get("/present/3/2").text
    assert 'action="/questions/3/demos/2/run"' in page and 'name="csrf_token"' in page
    assert 'data-run-url="/api/questions/3/demos/2/run/stream"' in page


def test_speaker_notes_are_for_a_signed_in_instructor_only(
    app: FastAPI, client: TestClient
) -> None:
    assert Q3_NOTE not in client.get("/present/3/1").text
    make_instructor(app)
    sign_in(client)
    page = client.get("/present/3/1").text
    assert 'id="notes"' in page and Q3_NOTE in page
    assert 'id="notes"' not in client.get("/present/2/1").text  # a demo without notes
    for learners_see in ("/questions/3", "/follow", "/api/questions/3"):
        assert Q3_NOTE not in client.get(learners_see).text, learners_see


def test_the_qr_code_links_to_the_follow_page(client: TestClient) -> None:
    page = client.get("/present/2/1").text
    qr = page.split('id="follow-qr"', 1)[1].split("</details>", 1)[0]
    assert 'viewBox="0 0 33 33" class="qr"' in qr and "<path" in qr
    assert "<title>QR code of the follow-along link</title>" in qr
    assert ">http://testserver/follow</a>" in qr


def test_only_a_signed_in_instructor_moves_the_follow_along(
    app: FastAPI, client: TestClient
) -> None:
    refused = client.post("/present/3/2/show", data={"csrf_token": csrf(client, "/present")})
    assert refused.url.path == "/instructor/login"  # anonymous: sent to sign in
    assert "Waiting for the presenter" in client.get("/follow").text
    make_instructor(app)
    sign_in(client)
    forged = client.post("/present/3/2/show", data={"csrf_token": "not-the-token"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert "Waiting for the presenter" in client.get("/follow").text


def test_showing_a_slide_puts_it_on_the_follow_page(instructor_client: TestClient) -> None:
    assert show(instructor_client, 3, 2) == 303
    follow = instructor_client.get("/follow").text
    assert "Demo 2: Mixing the two fails" in follow and 'data-revision="1"' in follow
    assert "tf.range(10) + tf.cast" not in follow  # the code is highlighted, not raw
    assert '<span class="n">InvalidArgumentError</span>' in follow
    assert Q3_NOTE not in follow
    assert show(instructor_client, 1, 2) == 303
    follow = instructor_client.get("/follow").text
    assert "Demo 1: Compare" not in follow and "Automatic differentiation" in follow
    assert 'data-revision="2"' in follow


def test_a_script_post_answers_204(instructor_client: TestClient) -> None:
    token = csrf(instructor_client, "/present/2/2")
    done = instructor_client.post("/present/2/2/show", headers={"X-CSRF-Token": token})
    assert done.status_code == 204
    assert "Tensors are immutable, variables are not" in instructor_client.get("/follow").text


def sign_in_browser(browser: httpx.Client) -> None:
    """Sign a client in as the instructor on the real server."""
    found = TOKEN_RE.search(browser.get("/instructor/login").text)
    assert found, "no CSRF token on the sign-in page"
    data = {"email": INSTRUCTOR_EMAIL, "password": INSTRUCTOR_PASSWORD, "csrf_token": found[1]}
    assert browser.post("/instructor/login", data=data).status_code == 303


def slide_events(lines: Iterator[str]) -> Iterator[dict[str, object]]:
    """Yield the data of each ``slide`` event of a server-sent event stream."""
    event = ""
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "slide":
            yield json.loads(line.removeprefix("data: "))


def test_followers_on_a_real_server_get_each_slide_the_presenter_shows(tmp_path: Path) -> None:
    env = {**database_env(), "TFQUIZ_FOLLOW_MAX_STREAMS": "1", "TFQUIZ_FOLLOW_POLL_S": "0.2"}
    with running_server(tmp_path, env=env) as url:
        settings = Settings(data_dir=tmp_path, database_url=env.get("TFQUIZ_DATABASE_URL"))
        database = open_database(settings)
        try:
            with database.writing() as session:
                create_instructor(session, INSTRUCTOR_EMAIL, INSTRUCTOR_PASSWORD)
        finally:
            database.engine.dispose()
        timeout = httpx.Timeout(30, read=20)
        with (
            httpx.Client(base_url=url, timeout=30) as presenter,
            httpx.Client(base_url=url, timeout=timeout) as phone,
            phone.stream("GET", "/follow/events") as stream,
        ):
            assert stream.status_code == 200
            sign_in_browser(presenter)
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = slide_events(stream.iter_lines())
            waiting = next(events)
            assert waiting["revision"] == 0 and "Waiting for the presenter" in str(waiting["html"])
            # One stream is the bound: a second phone is told to come back later.
            with httpx.Client(base_url=url, timeout=30) as other:
                full = other.get("/follow/events")
            assert full.status_code == 503 and full.headers["retry-after"] == "30"
            assert "already streams to 1 followers" in full.text
            token = TOKEN_RE.search(presenter.get("/present/10/1").text)
            assert token, "no CSRF token on the presenter view"
            headers = {"X-CSRF-Token": token[1]}
            assert presenter.post("/present/10/1/show", headers=headers).status_code == 204
            moved = next(events)
            assert moved["revision"] == 1 and (moved["question"], moved["demo"]) == (10, 1)
            assert moved["title"] == (
                "Question 10, demo 1: print runs while tracing, tf.print at every call"
            )
            assert "tracing" in str(moved["html"]) and "reduce_retracing" not in str(moved["html"])
            assert presenter.post("/present/3/2/show", headers=headers).status_code == 204
            again = next(events)
            assert again["revision"] == 2 and (again["question"], again["demo"]) == (3, 2)
        # The phone left: its place is given back, and the next phone gets the latest slide.
        assert next_follower_slide(url)["revision"] == 2


def next_follower_slide(url: str, attempts: int = 100) -> dict[str, object]:
    """Open a follower stream as soon as the server has a place; return its first slide."""
    with httpx.Client(base_url=url, timeout=httpx.Timeout(30, read=20)) as phone:
        for _ in range(attempts):
            with phone.stream("GET", "/follow/events") as stream:
                if stream.status_code == 200:
                    return next(slide_events(stream.iter_lines()))
                assert stream.status_code == 503
            time.sleep(0.1)  # the server notices the last phone left at its next poll
    raise AssertionError("the follower's place was never given back")


def test_a_presenter_opens_a_live_round_on_the_slides_question(
    app: FastAPI, client: TestClient
) -> None:
    assert 'id="ask-the-room"' not in client.get("/present/3/1").text  # instructors only
    make_instructor(app)
    sign_in(client)
    page = client.get("/present/3/1").text
    assert "Open a round on question 3" in page
    data = {"csrf_token": csrf(client, "/present/3/1"), "number": "3"}
    opened = client.post("/instructor/rounds", data=data, follow_redirects=False)
    assert opened.status_code == 303
    live_view = opened.headers["location"]
    assert live_view.startswith("/instructor/rounds/")
    slide = client.get("/present/5/1").text  # any slide now points at the open round
    assert f'href="{live_view}"' in slide and "(question 3) is open" in slide
    assert "Open a round on question" not in slide
