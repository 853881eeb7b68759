"""How far the grader's scores agree with human ones: pure statistics, no database.

Shared by the instructor's "Grader agreement" page (human = an instructor's final score)
and ``tfquiz grade --eval`` (human = a labelled data set's score).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MARGIN = 0.3
# Scores are stored rounded, so 0.6 - 0.3 comes out as 0.29999999999999993: a difference
# this close to the margin counts as reaching it.
TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Agreement:
    """Agreement over n pairs; None where a figure is undefined (no pairs, no spread)."""

    n: int
    spearman: float | None
    mae: float | None
    over: int  # the grader gave at least the margin more than the human
    under: int  # the grader gave at least the margin less than the human


def average_ranks(values: Sequence[float]) -> list[float]:
    """Rank values from 1, giving tied values the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        mean_rank = (start + end) / 2 + 1
        for position in range(start, end + 1):
            ranks[order[position]] = mean_rank
        start = end + 1
    return ranks


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Return the Pearson correlation, or None with fewer than two pairs or no spread."""
    _same_length(xs, ys)
    n = len(xs)
    if n < 2:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    if var_x <= TOLERANCE**2 or var_y <= TOLERANCE**2:
        return None
    return cov / math.sqrt(var_x * var_y)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Return Spearman's rank correlation (average ranks for ties), or None if undefined."""
    _same_length(xs, ys)
    return pearson(average_ranks(xs), average_ranks(ys))


def mean_absolute_error(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Return the mean absolute difference of paired values, or None when there are none."""
    _same_length(xs, ys)
    if not xs:
        return None
    return sum(abs(x - y) for x, y in zip(xs, ys, strict=True)) / len(xs)


def over_under(
    human: Sequence[float], auto: Sequence[float], margin: float = MARGIN
) -> tuple[int, int]:
    """Count the pairs the grader over-credits and under-credits by at least the margin."""
    _same_length(human, auto)
    over = sum(1 for h, a in zip(human, auto, strict=True) if a - h >= margin - TOLERANCE)
    under = sum(1 for h, a in zip(human, auto, strict=True) if h - a >= margin - TOLERANCE)
    return over, under


def agreement(human: Sequence[float], auto: Sequence[float], margin: float = MARGIN) -> Agreement:
    """Measure how the automatic scores agree with the human ones, pair by pair."""
    over, under = over_under(human, auto, margin)
    return Agreement(
        n=len(human),
        spearman=spearman(human, auto),
        mae=mean_absolute_error(human, auto),
        over=over,
        under=under,
    )


def _same_length(xs: Sequence[float], ys: Sequence[float]) -> None:
    if len(xs) != len(ys):
        raise ValueError(f"paired values differ in length: {len(xs)} and {len(ys)}")
