"""Points as people read and write them, and the badge a score earns.

Every page writes points through ``format_points`` (the ``points`` filter of the
templates) and colours a score by ``badge_level`` (the ``badge_level`` filter), whose
steps are the grader's own ``BANDS``, so a badge and the feedback beside it agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from app.grading.grader import BANDS
from app.validation import InvalidText

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)$")
# The badge of each of the grader's bands, best first: excellent, good, partly right, not yet.
BADGE_LEVELS = ("high", "mid", "mid", "low")


def format_points(value: float, digits: int = 2, decimal: bool = False) -> str:
    """Write points the way a person would: 7.5, 10, 0.25, rounded to ``digits`` places.

    ``decimal`` keeps a decimal point on whole numbers (10.0), as the learner's pages and
    the score matrix show them, so that a column of scores reads alike.
    """
    text = f"{round(value, digits):g}"
    return text + ".0" if decimal and "." not in text else text


def parse_points(raw: object, max_points: float) -> float:
    """Return a score in points, checked against 0..max_points, or raise InvalidText."""
    limit = format_points(max_points)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidText(f"The score must be a number of points from 0 to {limit}, such as 7.5.")
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise InvalidText(f"Enter the score in points, from 0 to {limit}.")
        if not _NUMBER.match(text):
            raise InvalidText(
                f"The score must be a number of points from 0 to {limit}, such as 7.5."
            )
        raw = float(text.replace(",", "."))
    value = float(raw)
    if not math.isfinite(value):
        raise InvalidText(f"The score must be a number of points from 0 to {limit}, such as 7.5.")
    if value < 0:
        raise InvalidText(f"The score cannot be negative: enter 0 to {limit} points.")
    if value > max_points:
        raise InvalidText(f"The score cannot exceed the question's {limit} points.")
    return round(value, 2)


def badge_level(score: float) -> str:
    """Return the badge of a score (0..1): the level of the grader's band it falls in."""
    for (floor, _message), level in zip(BANDS, BADGE_LEVELS, strict=True):
        if score >= floor:
            return level
    return BADGE_LEVELS[-1]


TEMPLATE_FILTERS: dict[str, Callable[..., Any]] = {
    "points": format_points,
    "badge_level": badge_level,
}
