"""Assignment and Grade Services: counted scores reach the platform's gradebook, retried."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import LtiScoreSend
from tests.factories import GOOD_Q3, answer_page, make_instructor, post_form, sign_in
from tests.lti.platform import LoopbackPlatform
from tests.lti.test_launch import launch_data, post_launch

WAIT_S = 30  # a ceiling for the background sender, not a measured time


def eventually(check: Callable[[], Any]) -> Any:
    """Return ``check()``'s first true value, polling while the sender works."""
    deadline = time.monotonic() + WAIT_S
    while not (found := check()):
        assert time.monotonic() < deadline, "the score never got there"
        time.sleep(0.05)
    return found


def launched_learner(client: TestClient, platform: LoopbackPlatform) -> None:
    """Give the platform the tool's keys, then launch the learner into the whole quiz."""
    platform.tool_jwks = client.get("/lti/jwks").json()
    assert post_launch(client, launch_data(client, platform)).status_code == 303


def test_a_recorded_answer_s_score_arrives_in_the_gradebook(
    client: TestClient, platform: LoopbackPlatform
) -> None:
    launched_learner(client, platform)
    assert answer_page(client, 3, GOOD_Q3).status_code == 303
    score = eventually(lambda: platform.score_of("learner-1"))
    possible = client.app.state.bank.possible_points  # type: ignore[attr-defined]
    assert (score["scoreGiven"], score["scoreMaximum"]) == (10.0, possible)
    assert score["gradingProgress"] == "FullyGraded"


def test_per_question_grades_get_a_line_item_each_and_follow_an_override(
    client: TestClient, platform: LoopbackPlatform, session: Session
) -> None:
    launched_learner(client, platform)
    with TestClient(client.app) as teacher:
        make_instructor(client.app)
        assert sign_in(teacher).status_code == 303
        page = "/instructor/lti"
        chosen = post_form(teacher, "/instructor/lti/links/1/mode", {"mode": "per-question"}, page)
        assert chosen.status_code == 303
        answered = answer_page(client, 3, GOOD_Q3)
        item = eventually(
            lambda: next(
                (k for k, v in platform.lineitems.items() if "tfquiz 3" in v["label"]), None
            )
        )
        question = client.app.state.bank.questions[3]  # type: ignore[attr-defined]
        assert platform.lineitems[item]["resourceId"] == str(question.id)
        assert eventually(lambda: platform.score_of("learner-1", item))["scoreGiven"] == 10.0
        attempt_id = answered.headers["location"].rsplit("/", 1)[1]
        overridden = post_form(
            teacher,
            f"/instructor/attempts/{attempt_id}",
            {"score": "5", "comment": "Half of it."},
            f"/instructor/attempts/{attempt_id}",
        )
        assert overridden.status_code == 303, overridden.text
        eventually(lambda: platform.score_of("learner-1", item)["scoreGiven"] == 5.0)
        # What the instructor sees once the sender has recorded the platform's answer.
        eventually(lambda: "<td>5 / 10</td><td>sent</td>" in teacher.get(page).text)
        assert "<td>Grace Hopper</td>" in teacher.get(page).text


def test_a_platform_that_is_down_gets_the_score_later(
    client: TestClient, platform: LoopbackPlatform, session: Session
) -> None:
    launched_learner(client, platform)
    platform.down = True
    assert answer_page(client, 3, GOOD_Q3).status_code == 303  # the answer does not wait

    def failed_once() -> LtiScoreSend | None:
        session.rollback()
        row = session.scalars(select(LtiScoreSend)).first()
        return row if row is not None and row.last_error else None

    row = eventually(failed_once)
    assert row.status == "pending" and "503" in row.last_error
    assert platform.score_of("learner-1") is None
    platform.down = False
    assert eventually(lambda: platform.score_of("learner-1"))["scoreGiven"] == 10.0
    session.rollback()
    sent = session.scalars(select(LtiScoreSend)).one()
    assert sent.status == "sent" and sent.tries >= 2
