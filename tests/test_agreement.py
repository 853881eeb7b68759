"""The agreement statistics, against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from app.agreement import (
    Agreement,
    agreement,
    average_ranks,
    mean_absolute_error,
    over_under,
    spearman,
)


def test_ties_share_the_mean_of_their_ranks() -> None:
    assert average_ranks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4]
    assert average_ranks([0.5, 0.1, 0.5, 0.5]) == [3, 1, 3, 3]
    assert average_ranks([]) == []


def test_spearman_matches_hand_computed_values() -> None:
    assert spearman([1, 2, 3], [10, 40, 90]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [0.9, 0.5, 0.1]) == pytest.approx(-1.0)
    # Ranks [1..5] against [1, 4, 2.5, 2.5, 5]: covariance 6.5, variances 10 and 9.5.
    assert spearman([1, 2, 3, 4, 5], [1, 3, 2, 2, 5]) == pytest.approx(6.5 / math.sqrt(95))


def test_spearman_is_undefined_without_pairs_or_spread() -> None:
    assert spearman([], []) is None
    assert spearman([0.5], [0.7]) is None
    assert spearman([0.2, 0.4, 0.9], [1.0, 1.0, 1.0]) is None


def test_mean_absolute_error() -> None:
    assert mean_absolute_error([1.0, 0.5, 0.0], [0.8, 0.5, 0.3]) == pytest.approx(0.5 / 3)
    assert mean_absolute_error([], []) is None


def test_over_and_under_credit_count_from_the_margin_itself() -> None:
    human = [0.6, 0.3, 1.0, 0.0]
    auto = [0.3, 0.6, 0.71, 0.29]
    # 0.6 - 0.3 is 0.29999999999999993 in floating point, yet reaches the margin.
    assert over_under(human, auto) == (1, 1)
    assert over_under(human, auto, margin=0.25) == (2, 2)


def test_agreement_gathers_every_figure() -> None:
    found = agreement([1.0, 0.5, 0.0], [0.8, 0.5, 0.3])
    assert found == Agreement(
        n=3, spearman=pytest.approx(1.0), mae=pytest.approx(0.5 / 3), over=1, under=0
    )
    assert agreement([], []) == Agreement(n=0, spearman=None, mae=None, over=0, under=0)


def test_pairs_must_have_equal_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        agreement([1.0], [1.0, 0.0])
