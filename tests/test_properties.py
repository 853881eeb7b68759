"""Property tests: any text gives the grader a result and the loader a result or clear error."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import PROJECT_ROOT
from app.grading import grade_answer
from app.questions import FileInvalid, load_folder, parse_question
from app.tokens import tokenize
from tests.test_questions import VALID

BANK = load_folder(PROJECT_ROOT / "questions")
TRICKY = st.sampled_from(
    [
        "",
        "\ud800",
        "%2e%2e",
        "../../etc/passwd",
        "```\n## Rubric\n```",
        "<script>alert(1)</script>",
        "\u202e\u200b\ufeff",
        "n't not no never " * 50,
        "int32 " * 2000,
        "\x00\x01\x02",
        "🤖" * 500,
    ]
)
ANSWERS = st.one_of(st.text(max_size=3000), TRICKY, st.binary(max_size=500).map(repr))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(number=st.sampled_from(sorted(BANK.questions)), text=ANSWERS)
def test_any_answer_gets_a_bounded_explainable_score(number: int, text: str) -> None:
    result = grade_answer(BANK.questions[number], text)
    assert 0.0 <= result.score <= 1.0
    assert 0.0 <= result.points <= result.max_points
    assert result.feedback
    for point in result.key_points:
        for evidence in point.evidence:
            assert text[evidence.start : evidence.end] == evidence.text


@FAST
@given(text=ANSWERS)
def test_tokens_point_back_into_the_text(text: str) -> None:
    for token in tokenize(text):
        assert text[token.start : token.end] == token.text


@FAST
@given(raw=st.one_of(st.binary(max_size=4000), st.text(max_size=4000).map(str.encode)))
def test_any_bytes_load_or_fail_clearly(raw: bytes) -> None:
    try:
        parse_question(raw, Path("fuzzed.md"))
    except FileInvalid as invalid:
        assert invalid.errors and all(error.message for error in invalid.errors)


@FAST
@given(
    position=st.integers(min_value=0, max_value=len(VALID)),
    insert=st.one_of(TRICKY, st.text(max_size=200)),
)
def test_a_damaged_valid_file_loads_or_fails_clearly(position: int, insert: str) -> None:
    damaged = (VALID[:position] + insert + VALID[position:]).encode("utf-8", "surrogatepass")
    try:
        parse_question(damaged, Path("damaged.md"))
    except FileInvalid as invalid:
        assert invalid.errors and all(error.line >= 0 for error in invalid.errors)
