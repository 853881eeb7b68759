"""The checks behind overrides, claims and the reveal policy, as pure functions."""

from __future__ import annotations

import pytest

from app.reviews import (
    RevealPolicy,
    clean_comment,
    clean_justification,
    format_points,
    parse_points,
    parse_reveal_form,
)
from app.validation import InvalidText


@pytest.mark.parametrize(
    ("raw", "points"),
    [
        ("7.5", 7.5),
        (" 10 ", 10.0),
        ("0", 0.0),
        ("7,25", 7.25),
        (".5", 0.5),
        (3, 3.0),
        (9.999, 10.0),
    ],
)
def test_scores_are_read_as_points(raw: object, points: float) -> None:
    assert parse_points(raw, 10) == points


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-0.5", "cannot be negative"),
        ("10.01", "cannot exceed the question's 10 points"),
        ("1e3", "must be a number of points from 0 to 10"),
        ("inf", "must be a number of points"),
        (float("nan"), "must be a number of points"),
        (True, "must be a number of points"),
        ("7 points", "must be a number of points"),
        ("  ", "Enter the score in points, from 0 to 10."),
    ],
)
def test_bad_scores_say_what_is_expected(raw: object, message: str) -> None:
    with pytest.raises(InvalidText, match=message):
        parse_points(raw, 10)


def test_points_are_written_plainly() -> None:
    assert [format_points(v) for v in (10.0, 7.5, 0.25, 8.571, 110.0)] == [
        "10",
        "7.5",
        "0.25",
        "8.57",
        "110",
    ]


def test_comments_keep_line_breaks_and_refuse_control_characters() -> None:
    assert clean_comment("  Good.\r\nSee line 2.  ", "comment", True) == "Good.\nSee line 2."
    assert clean_comment("", "note", False) == ""
    with pytest.raises(InvalidText, match="Write a comment"):
        clean_comment(" \n ", "comment", True)
    with pytest.raises(InvalidText, match="control characters"):
        clean_comment("a\x00b", "note", False)
    with pytest.raises(InvalidText, match="at most 1000"):
        clean_comment("x" * 1001, "comment", True)


def test_justifications_are_one_short_line() -> None:
    assert clean_justification("  I said both hold 0..9.  ") == "I said both hold 0..9."
    assert len(clean_justification("é" * 200)) == 200
    for bad, message in [
        ("", "Write one line"),
        ("x" * 201, "201 characters long; the limit is 200"),
        ("one\ntwo", "single line"),
        ("bell\x07", "control characters"),
        ("sep\u2028arator", "single line"),
    ]:
        with pytest.raises(InvalidText, match=message):
            clean_justification(bad)


def test_reveal_policies() -> None:
    first = RevealPolicy()
    assert (first.shows(0), first.shows(1)) == (False, True)
    after = RevealPolicy(mode="after", after=3)
    assert [after.shows(n) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert "after 3 attempts" in after.waiting_message(1) and "2 more" in after.waiting_message(1)
    held = RevealPolicy(mode="released")
    assert not held.shows(50) and "releases it" in held.waiting_message(50)
    assert RevealPolicy(mode="released", released=True).shows(1)


def test_the_reveal_form_is_checked() -> None:
    assert parse_reveal_form("after", " 4 ", False) == RevealPolicy("after", 4, False)
    assert parse_reveal_form("released", "2", True) == RevealPolicy("released", 2, True)
    for mode, after in [("after", "0"), ("after", "-1"), ("after", "2.5"), ("first", "")]:
        with pytest.raises(InvalidText, match="whole number from 1 to 100"):
            parse_reveal_form(mode, after, False)
    with pytest.raises(InvalidText, match="Choose when"):
        parse_reveal_form("never", "2", False)
