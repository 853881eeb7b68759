"""Live rounds on the real database: which attempts count, the figures, and freezing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI

from app.learners import create_learner
from app.models import Attempt, LiveRound, utc_now
from app.overrides import override_score
from app.rounds import (
    RoundFigures,
    RoundRefused,
    anonymise,
    close_round,
    find_open,
    live_figures,
    open_round,
    past_rounds,
    round_figures,
    set_pick,
)
from app.schema import Question
from app.submissions import submit_answer
from tests.factories import GOOD_Q3, make_instructor

WRONG_Q3 = "Yes, they are exactly the same tensor."


def question3(app: FastAPI) -> Question:
    """Return question 3, whose misconception 'same-result' names demo 1."""
    question: Question = app.state.bank.questions[3]
    return question


def learner(app: FastAPI, name: str, email: str | None = None) -> int:
    """Create a learner directly, as sign-up would."""
    with app.state.db.writing() as session:
        return create_learner(session, name, email, None).id


def answer(app: FastAPI, learner_id: int, text: str, number: int = 3) -> int:
    """Answer as the question page does: graded and recorded in the learner's records."""
    question = app.state.bank.questions[number]
    recorded = submit_answer(
        app.state.db,
        app.state.settings,
        question,
        text,
        f"10.0.0.{learner_id}",
        learner_id=learner_id,
    )
    return recorded.attempt_id


def start(app: FastAPI) -> int:
    """Open a round on question 3 and return its id."""
    with app.state.db.writing() as session:
        return open_round(session, question3(app), None).id


def figures(app: FastAPI, round_id: int) -> RoundFigures:
    with app.state.db.reading() as session:
        return round_figures(session, session.get_one(LiveRound, round_id), question3(app))


def test_each_learner_counts_once_with_their_latest_answer(app: FastAPI) -> None:
    ada, bob = learner(app, "Ada"), learner(app, "Bob")
    round_id = start(app)
    answer(app, ada, WRONG_Q3)
    answer(app, ada, GOOD_Q3)
    answer(app, bob, WRONG_Q3)
    found = figures(app, round_id)
    assert found.answered == 2
    assert sorted(a.text for a in found.answers) == sorted([GOOD_Q3, WRONG_Q3])
    assert sum(band.count for band in found.bands) == 2
    assert found.bands[-1].count == 1  # the good answer, 100%
    assert found.bands[0].count == 1  # the misconception caps the wrong one at 10%


def test_attempts_before_the_round_or_on_other_questions_do_not_count(app: FastAPI) -> None:
    ada, bob = learner(app, "Ada"), learner(app, "Bob")
    answer(app, ada, GOOD_Q3)  # before the round
    round_id = start(app)
    answer(app, bob, "Eager execution runs operations at once.", number=1)
    assert figures(app, round_id).answered == 0
    answer(app, bob, GOOD_Q3)
    assert figures(app, round_id).answered == 1


def test_key_points_and_misconceptions_are_counted_and_named(app: FastAPI) -> None:
    ada, bob, cy = learner(app, "Ada"), learner(app, "Bob"), learner(app, "Cy")
    round_id = start(app)
    answer(app, ada, WRONG_Q3)
    answer(app, bob, WRONG_Q3)
    answer(app, cy, GOOD_Q3)
    found = figures(app, round_id)
    rubric = question3(app).rubric
    assert [p.text for p in found.points] == [p.text for p in rubric.key_points]
    range_point = next(p for p in found.points if p.id == "range-int32")
    assert (range_point.count, range_point.share) == (1, pytest.approx(1 / 3))
    top = found.top_misconception
    assert top is not None
    assert (top.id, top.count, top.demo) == ("same-result", 2, 1)
    assert top.text == next(m.feedback for m in rubric.misconceptions if m.id == "same-result")


def test_answers_hide_the_learners_name_and_email(app: FastAPI) -> None:
    ada = learner(app, "Ada Lovelace", "ada@example.org")
    round_id = start(app)
    answer(app, ada, f"ada lovelace here (ada@example.org): {GOOD_Q3}")
    (shown,) = figures(app, round_id).answers
    assert "lovelace" not in shown.text.lower() and "example.org" not in shown.text
    assert shown.text.startswith("[name] here ([name]):")


def test_anonymise_leaves_words_that_merely_contain_the_name() -> None:
    assert anonymise("Al said: always cast", ["Al"]) == "[name] said: always cast"


def test_one_round_is_open_at_a_time(app: FastAPI) -> None:
    round_id = start(app)
    with pytest.raises(RoundRefused, match=f"Round {round_id} .* still open"):
        start(app)
    with app.state.db.writing() as session:
        live = session.get_one(LiveRound, round_id)
        close_round(session, live, question3(app))
    with app.state.db.writing() as session:
        assert find_open(session) is None
        again = open_round(session, question3(app), None)
        assert find_open(session) is again


def test_closing_freezes_the_figures(app: FastAPI) -> None:
    make_instructor(app)
    ada, bob = learner(app, "Ada"), learner(app, "Bob")
    round_id = start(app)
    attempt_id = answer(app, ada, WRONG_Q3)
    with app.state.db.writing() as session:
        live = session.get_one(LiveRound, round_id)
        set_pick(session, live, attempt_id, True)
    with app.state.db.writing() as session:
        live = session.get_one(LiveRound, round_id)
        frozen = close_round(session, live, question3(app))
        with pytest.raises(RoundRefused, match="already closed"):
            close_round(session, live, question3(app))
    answer(app, bob, GOOD_Q3)  # after closing
    with app.state.db.writing() as session:  # an override after closing
        attempt = session.get_one(Attempt, attempt_id)
        override_score(session, attempt, 1, attempt.max_points, "Fair enough.")
    after = figures(app, round_id)
    assert after == frozen
    assert after.answered == 1 and after.bands[0].count == 1
    assert [a.attempt_id for a in after.picked] == [attempt_id]
    with app.state.db.reading() as session:
        assert [r.id for r in past_rounds(session)] == [round_id]
        live = session.get_one(LiveRound, round_id)
        # Computed afresh, the same window would now see the override.
        assert live_figures(session, live, question3(app)).bands[-1].count == 1


def test_picks_only_take_the_rounds_counted_answers(app: FastAPI) -> None:
    ada = learner(app, "Ada")
    first = answer(app, ada, WRONG_Q3)  # before the round
    round_id = start(app)
    second = answer(app, ada, GOOD_Q3)
    with app.state.db.writing() as session:
        live = session.get_one(LiveRound, round_id)
        with pytest.raises(RoundRefused, match=f"Attempt {first} is not"):
            set_pick(session, live, first, True)
        set_pick(session, live, second, True)
    assert [a.attempt_id for a in figures(app, round_id).picked] == [second]
    with app.state.db.writing() as session:
        set_pick(session, session.get_one(LiveRound, round_id), second, False)
    assert figures(app, round_id).picked == []


def test_a_round_opened_later_does_not_see_earlier_answers(app: FastAPI) -> None:
    ada = learner(app, "Ada")
    with app.state.db.writing() as session:
        later = open_round(session, question3(app), None, now=utc_now() + timedelta(hours=1))
        round_id = later.id
    answer(app, ada, GOOD_Q3)
    assert figures(app, round_id).answered == 0
