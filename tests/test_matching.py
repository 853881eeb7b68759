"""Phrase matching: stems, typos, gaps inside clauses, negation."""

from __future__ import annotations

import pytest

from app.matching import compile_pattern, find_matches
from app.tokens import tokenize


def matched(pattern: str, text: str) -> list[tuple[str, bool]]:
    """Return (matched text, negated) for each match of a pattern."""
    return [
        (text[m.start : m.end], m.negated)
        for m in find_matches(compile_pattern(pattern), tokenize(text))
    ]


def test_matches_are_case_insensitive_and_inflection_tolerant() -> None:
    assert matched("automatic differentiation", "It Automatically Differentiates code") == [
        ("Automatically Differentiates", False)
    ]


def test_word_boundaries_are_respected() -> None:
    assert matched("int", "an int32 tensor") == []
    assert matched("range", "np.arange(10)") == []


@pytest.mark.parametrize("typo", ["differenciation", "diferentiation", "graident"])
def test_small_typos_in_long_words_still_match(typo: str) -> None:
    pattern = "gradient" if typo == "graident" else "differentiation"
    assert matched(pattern, f"it does {typo}")


def test_numbers_must_match_exactly() -> None:
    assert matched("int32", "int64") == []
    assert matched("float32", "float16") == []


def test_gap_stays_inside_a_clause() -> None:
    text = "tf.range(10) is int32 whereas np.arange gives int64"
    assert matched("range ... int32", text) == [("range(10) is int32", False)]
    assert matched("range ... int64", text) == []


def test_negation_before_or_inside_a_match_is_detected() -> None:
    assert matched("int32", "it is not int32") == [("int32", True)]
    assert matched("range ... int32", "range is never int32") == [("range is never int32", True)]
    assert matched("mutable", "tensors aren't mutable") == [("mutable", True)]


def test_negation_does_not_cross_a_comma_or_sentence() -> None:
    assert matched("int32", "No, it is int32") == [("int32", False)]
    assert matched("int32", "Not at all. It is int32") == [("int32", False)]


def test_pattern_that_states_a_negation_is_exempt() -> None:
    assert matched("not the same", "they are not the same") == [("not the same", False)]


def test_empty_pattern_is_refused() -> None:
    with pytest.raises(ValueError, match="no words"):
        compile_pattern("... ,")
