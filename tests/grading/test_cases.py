"""The grader on our own probing answers: paraphrases, lists, code, negations, gaming."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import PROJECT_ROOT
from app.grading import grade_answer
from app.questions import load_folder

HERE = Path(__file__).resolve().parent
BANK = load_folder(PROJECT_ROOT / "questions")
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))
EXPERTS: list[dict[str, Any]] = yaml.safe_load((HERE / "experts.yaml").read_text(encoding="utf-8"))


def _id(case: dict[str, Any]) -> str:
    return f"q{case['question']}-{case.get('kind', 'expert')}-{case['text'][:30]}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_probing_answer_is_read_as_an_instructor_would(case: dict[str, Any]) -> None:
    result = grade_answer(BANK.questions[case["question"]], case["text"])
    assert case.get("min", 0.0) <= result.score <= case.get("max", 1.0), result.flags
    assert set(case.get("flags", [])) <= set(result.flags)
    assert not set(case.get("not_flags", [])) & set(result.flags)
    if "review" in case:
        assert result.needs_review is case["review"]
        assert (result.review_reason is not None) is case["review"]
    if "language" in case:
        assert result.language == case["language"]


@pytest.mark.parametrize("case", EXPERTS, ids=_id)
def test_an_experts_complete_answer_earns_full_marks(case: dict[str, Any]) -> None:
    result = grade_answer(BANK.questions[case["question"]], case["text"])
    assert result.score >= 0.85
    assert not result.needs_review, result.review_reason


@pytest.mark.parametrize("number", sorted(BANK.questions))
def test_each_reference_answer_scores_full_marks(number: int) -> None:
    question = BANK.questions[number]
    result = grade_answer(question, question.reference_markdown)
    assert result.score == 1.0
    assert "copies-reference" in result.flags


def test_english_answers_rarely_need_review() -> None:
    # Gaming attempts may well go to review; answers in other languages must.
    english = [c for c in CASES if c.get("kind") not in ("language", "gaming")] + EXPERTS
    flagged = [
        c for c in english if grade_answer(BANK.questions[c["question"]], c["text"]).needs_review
    ]
    assert len(flagged) <= len(english) / 10, [c["text"][:40] for c in flagged]


@pytest.mark.parametrize("number", sorted(BANK.questions))
def test_padding_with_every_term_earns_little_and_goes_to_review(number: int) -> None:
    question = BANK.questions[number]
    filler = "This is an interesting question and the answer depends on many things."
    phrases = [p.replace("...", "") for k in question.rubric.key_points for p in k.any_of]
    padded = " ".join(f"{filler} Consider {phrase}." for phrase in phrases * 3)
    assert len(padded.split()) > 1000
    result = grade_answer(question, padded)
    assert result.score <= 0.3
    assert "padded" in result.flags and result.needs_review


@pytest.mark.parametrize("number", sorted(BANK.questions))
def test_pasted_reference_or_key_points_are_flagged_for_the_instructor(number: int) -> None:
    question = BANK.questions[number]
    for text in (
        question.reference_markdown,
        " ".join(point.text for point in question.rubric.key_points),
    ):
        result = grade_answer(question, text)
        assert "copies-reference" in result.flags
        assert result.needs_review and "reproduces the reference" in (result.review_reason or "")


@pytest.mark.parametrize("number", sorted(BANK.questions))
def test_the_question_pasted_back_earns_nothing(number: int) -> None:
    question = BANK.questions[number]
    assert grade_answer(question, question.prompt_markdown).score <= 0.1
