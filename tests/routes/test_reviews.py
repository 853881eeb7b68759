"""Overrides, claims and the reveal policy, through the instructor's and the learner's pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.claims import submit_claim
from app.config import Settings
from app.main import create_app
from app.models import Attempt, Claim, ScoreChange
from tests.factories import GOOD_Q3, answer_page, csrf, post_form, start

# Meets range-int32 (2) and the optional not-the-same (1) of Q3's full-marks weight 5: 6 points.
# Misses the required arange-int64 and the optional values-equal and no-implicit-cast.
PARTIAL_Q3 = "No, tf.range(10) gives int32."
MISSED_Q3 = "tf.constant(np.arange(10)) keeps NumPy"  # arange-int64's text
HINT_Q3 = "Which dtype does NumPy give np.arange(10), and does tf.constant keep it?"
XSS = '<script>alert("x")</script><img src=x onerror="alert(1)">'


@pytest.fixture
def learner(app: FastAPI, instructor_client: TestClient) -> Iterator[TestClient]:
    """A second browser, signed in as the learner Ada (the instructor keeps the first)."""
    with TestClient(app) as browser:
        start(browser, "Ada", "ada@example.org")
        yield browser


def answer(browser: TestClient, text: str = PARTIAL_Q3, number: int = 3) -> tuple[int, str]:
    """Answer a question; return the attempt id and its result page."""
    location = answer_page(browser, number, text).headers["location"]
    return int(location.rsplit("/", 1)[1]), location


def override(client: TestClient, attempt_id: int, score: str, comment: str) -> Any:
    """Submit the override form of an attempt's review page."""
    page = f"/instructor/attempts/{attempt_id}"
    return post_form(client, page, {"score": score, "comment": comment}, page)


def claim(browser: TestClient, result: str, point: str, justification: str) -> Any:
    """Submit the claim form next to a missed key point of a result page."""
    data = {"point": point, "justification": justification}
    return post_form(browser, f"{result}/claims", data, result)


def stored(session: Session, attempt_id: int) -> tuple[Attempt, list[ScoreChange]]:
    """Return an attempt and its score changes as stored now."""
    session.rollback()  # end the read snapshot, to see what was committed since
    attempt = session.get_one(Attempt, attempt_id)
    changes = select(ScoreChange).where(ScoreChange.attempt_id == attempt_id)
    return attempt, list(session.scalars(changes.order_by(ScoreChange.id)))


def test_review_page_shows_the_attempt(instructor_client: TestClient, learner: TestClient) -> None:
    attempt_id, _ = answer(learner)
    page = instructor_client.get(f"/instructor/attempts/{attempt_id}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    for shown in ("Ada", "ada@example.org", "question 3", "6 / 10 points", "<mark"):
        assert shown in page.text, shown
    assert "tf.range(10) gives an int32 tensor" in page.text and "missed" in page.text
    assert MISSED_Q3 in page.text  # the instructor sees missed points' texts at once
    assert "still the automatic one" in page.text
    missing = instructor_client.get("/instructor/attempts/999")
    assert missing.status_code == 404 and "There is no attempt 999." in missing.text


def test_overrides_count_keep_a_history_and_reach_the_learner(
    instructor_client: TestClient, learner: TestClient, session: Session
) -> None:
    attempt_id, result = answer(learner)
    first = override(instructor_client, attempt_id, "8", "You also showed the values match.")
    assert first.status_code == 303
    again = override(instructor_client, attempt_id, "9,5", "On a second reading: nearly full.")
    assert again.status_code == 303

    attempt, changes = stored(session, attempt_id)
    assert (attempt.score, attempt.points) == (0.6, 6.0)  # the grader's own is kept
    assert (attempt.final_score, attempt.final_points) == (0.95, 9.5)
    assert attempt.override_comment == "On a second reading: nearly full."
    chain = [(c.kind, c.old_score, c.new_score, c.comment) for c in changes]
    assert chain == [
        ("override", 0.6, 0.8, "You also showed the values match."),
        ("override", 0.8, 0.95, "On a second reading: nearly full."),
    ]
    assert all(c.instructor_id is not None and c.created_at is not None for c in changes)

    review = instructor_client.get(f"/instructor/attempts/{attempt_id}").text
    assert "6 → 8" in review and "8 → 9.5" in review and "teacher@example.org" in review
    assert "Score set to 9.5 points." in review or "9.5 / 10 points" in review

    seen = learner.get(result).text
    assert "9.5 / 10.0 points" in seen and "the automatic grade was 6.0 points" in seen
    assert "On a second reading: nearly full." in seen and "Score override" in seen
    assert attempt.created_at.strftime("%Y-%m-%d") in seen
    assert "9.5 / 10.0" in learner.get("/summary").text


@pytest.mark.parametrize(
    ("score", "comment", "message"),
    [
        ("-1", "too low", "The score cannot be negative: enter 0 to 10 points."),
        ("10.5", "too high", "The score cannot exceed the question&#39;s 10 points."),
        ("seven", "words", "The score must be a number of points from 0 to 10, such as 7.5."),
        ("nan", "not a number", "The score must be a number of points from 0 to 10"),
        ("", "empty", "Enter the score in points, from 0 to 10."),
        ("8", "   ", "Write a comment that explains the change"),
        ("8", "bell\x07", "The comment contains control characters"),
    ],
)
def test_bad_overrides_explain_and_change_nothing(
    instructor_client: TestClient,
    learner: TestClient,
    session: Session,
    score: str,
    comment: str,
    message: str,
) -> None:
    attempt_id, _ = answer(learner)
    response = override(instructor_client, attempt_id, score, comment)
    assert response.status_code == 422, score
    assert message in response.text
    assert f'value="{score}"' in response.text
    attempt, changes = stored(session, attempt_id)
    assert (attempt.final_points, attempt.override_comment, changes) == (6.0, None, [])


def test_the_json_override_needs_the_csrf_header(
    instructor_client: TestClient, learner: TestClient, session: Session
) -> None:
    attempt_id, _ = answer(learner)
    url = f"/api/instructor/attempts/{attempt_id}/override"
    body = {"score": 6.5, "comment": "Checked by hand."}
    assert instructor_client.post(url, json=body).status_code == 403
    token = {"X-CSRF-Token": csrf(instructor_client, "/instructor/settings")}
    done = instructor_client.post(url, json=body, headers=token)
    assert done.status_code == 200, done.text
    out = done.json()
    assert (out["final_points"], out["final_score"], out["auto_score"]) == (6.5, 0.65, 0.6)
    assert out["changed_by"] == "teacher@example.org"
    for bad, message in [
        ({"score": 11, "comment": "x"}, "cannot exceed"),
        ({"score": True, "comment": "x"}, "body.score: Input should be a valid number"),
        ({"score": "7", "comment": "x"}, "body.score: Input should be a valid number"),
        ({"score": 5, "comment": ""}, "Write a comment"),
    ]:
        refused = instructor_client.post(url, json=bad, headers=token)
        assert refused.status_code == 422 and message in refused.json()["detail"]
    gone = instructor_client.post("/api/instructor/attempts/999/override", json=body, headers=token)
    assert gone.status_code == 404 and gone.json()["detail"] == "There is no attempt 999."
    attempt, changes = stored(session, attempt_id)
    assert attempt.final_points == 6.5 and len(changes) == 1


def test_an_accepted_claim_adds_the_point_and_the_learner_sees_it(
    instructor_client: TestClient, learner: TestClient, session: Session
) -> None:
    attempt_id, result = answer(learner)
    page = learner.get(result).text
    assert 'name="point" value="values-equal"' in page
    assert 'name="point" value="range-int32"' not in page  # met points have no claim form
    sent = claim(learner, result, "values-equal", "I wrote that both hold the same 0..9 values.")
    assert sent.status_code == 303
    assert "has not decided yet" in learner.get(result).text

    queue = instructor_client.get("/instructor/claims").text
    assert "Waiting for a decision (1)" in queue and "Ada" in queue
    assert "I wrote that both hold the same 0..9 values." in queue
    assert "The values (0 to 9) and the shape are the same" in queue and PARTIAL_Q3 in queue
    claim_id = session.scalars(select(Claim.id)).one()
    decision = {"decision": "accept", "note": ""}
    accepted = post_form(instructor_client, f"/instructor/claims/{claim_id}", decision, "/")
    assert accepted.status_code == 303

    attempt, changes = stored(session, attempt_id)
    assert (attempt.final_score, attempt.final_points) == (0.8, 8.0)  # 0.6 + 1/5
    assert [(c.kind, c.old_score, c.new_score) for c in changes] == [("claim", 0.6, 0.8)]
    seen = learner.get(result).text
    assert "Claim accepted on" in seen and "+2 points" in seen and "8.0 / 10.0" in seen
    assert "Waiting for a decision (0)" in instructor_client.get("/instructor/claims").text
    twice = post_form(instructor_client, f"/instructor/claims/{claim_id}", decision, "/")
    assert twice.status_code == 422 and "already accepted" in twice.text
    assert stored(session, attempt_id)[0].final_points == 8.0


def test_a_rejected_claim_keeps_the_score_and_shows_the_note(
    instructor_client: TestClient, learner: TestClient, session: Session
) -> None:
    attempt_id, result = answer(learner)
    claim(learner, result, "no-implicit-cast", "Mixing them would fail.")
    claim_id = session.scalars(select(Claim.id)).one()
    data = {"decision": "reject", "note": "You did not mention tf.cast or the error."}
    assert post_form(instructor_client, f"/instructor/claims/{claim_id}", data, "/").status_code
    attempt, changes = stored(session, attempt_id)
    assert attempt.final_points == 6.0
    assert [(c.kind, c.old_score, c.new_score) for c in changes] == [("claim-rejected", 0.6, 0.6)]
    seen = learner.get(result).text
    assert "Claim rejected on" in seen and "You did not mention tf.cast or the error." in seen
    assert "6.0 / 10.0 points" in seen
    decided = instructor_client.get("/instructor/claims").text
    assert "rejected" in decided and "You did not mention tf.cast or the error." in decided


def test_claims_are_refused_where_they_do_not_belong(
    app: FastAPI, instructor_client: TestClient, learner: TestClient, session: Session
) -> None:
    _, result = answer(learner)
    cases = [
        ("range-int32", "It is met already.", 422, "already met"),
        ("no-such-point", "Hmm.", 404, "not part of this attempt"),
        ("values-equal", "", 422, "Write one line"),
        ("values-equal", "x" * 201, 422, "the limit is 200"),
        ("values-equal", "two\nlines", 422, "single line"),
        ("values-equal", "tab\there", 422, "control characters"),
    ]
    for point, text, status, message in cases:
        response = claim(learner, result, point, text)
        assert response.status_code == status, point
        assert message in response.text, point
    no_token = learner.post(
        f"{result}/claims", data={"point": "values-equal", "justification": "x"}
    )
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    with TestClient(app) as eve:
        start(eve, "Eve")
        assert eve.get(result).status_code == 404
        data = {"point": "values-equal", "justification": "Mine now.", "csrf_token": csrf(eve)}
        stolen = eve.post(f"{result}/claims", data=data)
        assert stolen.status_code == 404 and "No such attempt among your answers." in stolen.text
    assert session.scalars(select(Claim)).all() == []
    assert claim(learner, result, "values-equal", "Same values.").status_code == 303
    again = claim(learner, result, "values-equal", "Again.")
    assert again.status_code == 422 and "already claimed" in again.text
    session.rollback()
    assert len(session.scalars(select(Claim)).all()) == 1


def reveal(client: TestClient, mode: str, after: str = "2", released: bool = False) -> Any:
    """Save the reveal policy through the settings form."""
    data = {"mode": mode, "after": after} | ({"released": "on"} if released else {})
    return post_form(client, "/instructor/settings", data, "/instructor/settings")


REFERENCE = "TensorFlow never converts dtypes implicitly"  # from the reference answer


def test_reference_answer_after_the_first_attempt_by_default(
    instructor_client: TestClient, learner: TestClient
) -> None:
    settings = instructor_client.get("/instructor/settings").text
    assert 'value="first" checked' in settings
    _, result = answer(learner)
    page = learner.get(result).text
    assert REFERENCE in page and "6.0 / 10.0 points" in page
    assert MISSED_Q3 in page  # revealed with the reference answer


def test_reference_answer_after_n_attempts(
    instructor_client: TestClient, learner: TestClient
) -> None:
    assert reveal(instructor_client, "after", "3").status_code == 303
    assert 'value="after" checked' in instructor_client.get("/instructor/settings").text
    _, first = answer(learner)
    page = learner.get(first).text
    assert REFERENCE not in page
    assert "appears after 3 attempts at this question; 2 more to go" in page
    assert "6.0 / 10.0 points" in page and HINT_Q3 in page  # score and hints still show
    assert MISSED_Q3 not in page and "1 key point missed: its text appears with" in page
    assert 'name="justification"' not in page  # nothing to claim against yet
    refused = claim(learner, first, "values-equal", "Same values.")
    assert refused.status_code == 422 and "once the reference answer is shown" in refused.text
    answer(learner, GOOD_Q3)
    assert "1 more to go" in learner.get(first).text
    _, third = answer(learner)
    assert REFERENCE in learner.get(third).text and REFERENCE in learner.get(first).text
    assert MISSED_Q3 in learner.get(first).text  # the missed point's text comes with it


def test_reference_answer_only_once_released(
    instructor_client: TestClient, learner: TestClient
) -> None:
    reveal(instructor_client, "released")
    _, result = answer(learner)
    answer(learner)
    page = learner.get(result).text
    assert REFERENCE not in page and "once your instructor releases it" in page
    reveal(instructor_client, "released", released=True)
    assert REFERENCE in learner.get(result).text
    reveal(instructor_client, "first")
    assert REFERENCE in learner.get(result).text


@pytest.mark.parametrize(
    ("mode", "after", "message"),
    [
        ("after", "0", "a whole number from 1 to 100"),
        ("after", "two", "a whole number from 1 to 100"),
        ("after", "101", "a whole number from 1 to 100"),
        ("sometimes", "2", "Choose when learners see the reference answer."),
    ],
)
def test_bad_reveal_settings_are_explained(
    instructor_client: TestClient, mode: str, after: str, message: str
) -> None:
    response = reveal(instructor_client, mode, after)
    assert response.status_code == 422 and message in response.text
    assert 'value="first" checked' in instructor_client.get("/instructor/settings").text


def test_learner_text_is_inert_on_review_and_claim_pages(
    instructor_client: TestClient, learner: TestClient
) -> None:
    attempt_id, result = answer(learner, f"No, int32 versus int64. {XSS}")
    claim(learner, result, "values-equal", XSS)
    for url in (f"/instructor/attempts/{attempt_id}", "/instructor/claims"):
        page = instructor_client.get(url).text
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page, url
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page, url
    assert "<script>alert" not in learner.get(result).text


def test_claims_are_limited_per_learner(settings: Settings, session: Session) -> None:
    limited = settings.model_copy(update={"claim_limit_per_learner": 2})
    with TestClient(create_app(limited)) as browser:
        start(browser, "Ada")
        _, result = answer(browser)
        sent = [
            claim(browser, result, point, "I wrote it.")
            for point in ("values-equal", "no-implicit-cast", "arange-int64")
        ]
    assert [response.status_code for response in sent] == [303, 303, 429]
    assert "sending claims too quickly" in sent[2].text and "I wrote it." in sent[2].text
    assert int(sent[2].headers["retry-after"]) >= 1
    session.rollback()
    assert len(session.scalars(select(Claim)).all()) == 2


def test_the_claims_queue_is_paged(
    app: FastAPI, instructor_client: TestClient, learner: TestClient
) -> None:
    attempts = [answer(learner, f"{PARTIAL_Q3} ({n})")[0] for n in range(17)]
    with app.state.db.writing() as writer:  # 51 claims: three missed points per attempt
        for attempt_id in attempts:
            attempt = writer.get_one(Attempt, attempt_id)
            for point in ("values-equal", "no-implicit-cast", "arange-int64"):
                submit_claim(writer, attempt, point, f"Claim on {attempt_id}.")
    first = instructor_client.get("/instructor/claims").text
    assert "Waiting for a decision (51)" in first and "Page 1 of 2" in first
    assert first.count('class="card claim"') == 50
    assert '<a href="?page=2" rel="next">' in first and 'rel="prev"' not in first
    second = instructor_client.get("/instructor/claims?page=2").text
    assert second.count('class="card claim"') == 1 and "Page 2 of 2" in second
    assert '<a href="?page=1" rel="prev">' in second and 'rel="next"' not in second
    assert f"Claim on {attempts[-1]}." in second  # oldest first: the last one comes last
    for bad in ("0", "-1", "x", str(2**64)):
        refused = instructor_client.get(f"/instructor/claims?page={bad}")
        assert refused.status_code == 422 and "page" in refused.text, bad
