"""The auto-grader agrees with the human scores of the labelled development set."""

from __future__ import annotations

from collections import Counter

from app.config import PROJECT_ROOT
from app.questions import load_folder
from tests.grading.agreement import (
    load_devset,
    mean_absolute_error,
    ranks,
    report,
    spearman,
)

REQUIRED_LABELS = {"excellent", "partial", "wrong", "misconception", "off-topic", "keyword-list"}


def test_rank_statistics_are_right() -> None:
    assert ranks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1]
    assert spearman([1, 2, 3], [10, 20, 30]) == 1.0
    assert spearman([1, 2, 3], [3, 2, 1]) == -1.0
    assert mean_absolute_error([0, 1], [0.5, 0.5]) == 0.5


def test_devset_covers_every_question_and_every_kind_of_answer() -> None:
    bank = load_folder(PROJECT_ROOT / "questions")
    rows = load_devset(bank.questions)
    for number in bank.questions:
        labels = Counter(r.label for r in rows if r.question == number)
        assert sum(labels.values()) >= 6, f"question {number} has too few labelled answers"
        assert set(labels) >= REQUIRED_LABELS, (
            f"question {number} lacks {REQUIRED_LABELS - set(labels)}"
        )


def test_auto_scores_agree_with_human_scores() -> None:
    bank = load_folder(PROJECT_ROOT / "questions")
    rows = load_devset(bank.questions)
    human, auto = [r.human for r in rows], [r.auto for r in rows]
    print(report(rows))  # noqa: T201 - the table is the point of this test's output
    assert spearman(human, auto) >= 0.8
    assert mean_absolute_error(human, auto) <= 0.15
