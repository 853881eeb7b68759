"""The grader as a pure function of (question, answer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.grading import grade_answer
from app.questions import parse_question
from app.schema import Question

QUESTION = """---
id: 0b6a0a43-5d8e-4f9b-9a41-1a2b3c4d5e6f
number: 1
title: Colours
topic: Testing
points: 4
---

## Question

What colour is the sky, and why?

## Reference answer

Blue, because of Rayleigh scattering.

## Rubric

```yaml
key_points:
  - id: blue
    text: The sky is blue.
    weight: 1
    any_of: ["blue"]
    contradicted_by: ["green"]
  - id: scattering
    text: Rayleigh scattering makes it so.
    weight: 3
    any_of: ["rayleigh scattering", "scattering"]
misconceptions:
  - id: reflection
    any_of: ["reflects the ocean", "reflection of the sea"]
    feedback: The sky is not a mirror of the sea.
    voids: [scattering]
```
"""


@pytest.fixture
def question() -> Question:
    return parse_question(QUESTION.encode(), Path("colours.md"))


def test_full_answer_scores_one(question: Question) -> None:
    result = grade_answer(question, "The sky is blue because of Rayleigh scattering.")
    assert (result.score, result.points, result.max_points) == (1.0, 4.0, 4.0)
    assert result.feedback.startswith("Excellent")


def test_score_is_weighted(question: Question) -> None:
    result = grade_answer(question, "The sky is blue, I think, for some reason.")
    assert result.score == 0.25
    missed = [p.text for p in result.key_points if not p.met]
    assert missed == ["Rayleigh scattering makes it so."]
    # The missed point's text is the result page's to show, once the reference is revealed.
    assert "Rayleigh" not in result.feedback


def test_result_names_the_matched_words(question: Question) -> None:
    text = "It is blue due to the scattering of light."
    result = grade_answer(question, text)
    spans = [(e.start, e.end, e.text) for e in result.highlights()]
    assert spans == [(6, 10, "blue"), (22, 32, "scattering")]
    assert all(text[start:end] == word for start, end, word in spans)


def test_negated_keyword_earns_nothing(question: Question) -> None:
    result = grade_answer(question, "It is not blue and it is not due to scattering.")
    assert result.score == 0.0


def test_contradiction_voids_a_point(question: Question) -> None:
    result = grade_answer(question, "It is blue or maybe green, from scattering.")
    blue = next(p for p in result.key_points if p.id == "blue")
    assert not blue.met and [e.text for e in blue.contradicted_by] == ["green"]


def test_misconception_is_reported_and_voids_points(question: Question) -> None:
    result = grade_answer(question, "It is blue: the sky reflects the ocean, not scattering.")
    assert [m.id for m in result.misconceptions] == ["reflection"]
    assert "not a mirror" in result.feedback
    assert result.score == 0.25


def test_bare_keyword_list_is_capped(question: Question) -> None:
    result = grade_answer(question, "blue, Rayleigh scattering, light, wavelength")
    assert result.keyword_list and result.score == 0.5
    assert "full sentences" in result.feedback


def test_grading_is_deterministic(question: Question) -> None:
    text = "Blue, thanks to scattering of short wavelengths."
    assert grade_answer(question, text) == grade_answer(question, text)


def test_offtopic_answer_scores_zero(question: Question) -> None:
    result = grade_answer(question, "I like pizza with extra cheese on Fridays.")
    assert result.score == 0 and not any(p.met for p in result.key_points)
