"""Points as people write them, and as instructors type them in score forms."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from app.grading.grader import BANDS
from app.points import BADGE_LEVELS, badge_level, format_points, parse_points
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


def test_points_can_be_written_to_fewer_places() -> None:
    assert [format_points(v, 1) for v in (9.0, 6.333, 7.25, 10.0)] == ["9", "6.3", "7.2", "10"]


def test_points_can_keep_their_decimal_point() -> None:
    assert [format_points(v, decimal=True) for v in (10.0, 7.25, 0.0)] == ["10.0", "7.25", "0.0"]
    assert [format_points(v, 1, decimal=True) for v in (9.96, 6.333)] == ["10.0", "6.3"]


def test_a_badge_colours_each_of_the_graders_bands_alike() -> None:
    for (floor, _message), level in zip(BANDS, BADGE_LEVELS, strict=True):
        assert badge_level(floor) == level
    ceilings = [1.0, *(floor for floor, _ in BANDS[:-1])]
    for (floor, _message), ceiling in zip(BANDS, ceilings, strict=True):
        below = ceiling - 1e-6 if ceiling < 1.0 else 1.0
        assert badge_level(below) == badge_level(floor)
    assert [badge_level(s) for s in (1.0, 0.85, 0.84, 0.6, 0.59, 0.3, 0.29, 0.0)] == [
        "high",
        "high",
        "mid",
        "mid",
        "mid",
        "mid",
        "low",
        "low",
    ]


def test_the_templates_colour_a_score_by_the_badge_helper(app: FastAPI) -> None:
    env = app.state.templates.env
    badge = env.from_string('{% from "_macros.html" import score_badge %}{{ score_badge(s) }}')
    for score in (1.0, 0.85, 0.7, 0.55, 0.45, 0.1):
        assert f"badge-{badge_level(score)}" in badge.render(s=score)
    assert env.from_string("{{ 7.125 | points }} {{ 10.0 | points }}").render() == "7.12 10"
