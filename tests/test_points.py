"""Points as people write them, and as instructors type them in score forms."""

from __future__ import annotations

import pytest

from app.points import format_points, parse_points
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
