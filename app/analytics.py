"""Class-wide figures for the instructor dashboard, every aggregate computed in SQL.

A learner's score on a question is their best *counted* score (``Attempt.final_score``,
which reflects overrides and accepted claims) over their attempts at it, leaving out
practice attempts unless the course counts them; figures per question are over the
learners who have a counted attempt at it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    SQLColumnExpression,
    Subquery,
    and_,
    case,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.attempts import counted
from app.models import Attempt, AttemptMisconception, AttemptPoint, Learner
from app.policy import get_count_practice
from app.schema import Question

BINS = 10
SORT_NAME, SORT_TOTAL = "name", "total"
# Relative size under which a variance is rounding noise, not spread.
VARIANCE_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class ClassFigures:
    """The headline figures of the class."""

    learners: int
    active_learners: int
    attempts: int
    mean_score: float | None
    mean_total: float | None


@dataclass(frozen=True, slots=True)
class Count:
    """How often something (a missed key point, a misconception) occurred at a question."""

    id: str
    count: int


@dataclass(slots=True)
class QuestionFigures:
    """Item analysis of one question."""

    question_id: str
    learners: int = 0
    attempts: int = 0
    mean_score: float | None = None
    mean_points: float | None = None
    median_score: float | None = None
    discrimination: float | None = None
    histogram: list[int] = field(default_factory=lambda: [0] * BINS)
    missed: list[Count] = field(default_factory=list)
    misconceptions: list[Count] = field(default_factory=list)

    @property
    def facility(self) -> float | None:
        """Return the mean best score: the share of the points learners earn."""
        return self.mean_score


@dataclass(frozen=True, slots=True)
class Cell:
    """A learner's best counted result on one question."""

    score: float
    points: float
    attempts: int


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """One learner's line of the matrix: best results by question id, and the total."""

    learner_id: int
    name: str
    total: float | None
    cells: dict[str, Cell]


def best_scores(
    question_ids: Sequence[str], count_practice: bool, learner_ids: Sequence[int] | None = None
) -> CTE:
    """Return a CTE of each learner's best counted score and points, and attempts, per question."""
    score = func.max(counted(Attempt.final_score, count_practice))
    query = select(
        Attempt.question_id.label("question_id"),
        Attempt.learner_id.label("learner_id"),
        score.label("score"),
        func.max(counted(Attempt.final_points, count_practice)).label("points"),
        func.count().label("attempts"),
    ).where(Attempt.question_id.in_(question_ids))
    if learner_ids is not None:
        query = query.where(Attempt.learner_id.in_(learner_ids))
    query = query.group_by(Attempt.question_id, Attempt.learner_id)
    # Only practice at a question leaves nothing counted: the learner has no score there.
    return (query if count_practice else query.having(score.is_not(None))).cte("best")


def learner_totals(best: CTE) -> CTE:
    """Return a CTE of each learner's total points: the sum of their best points."""
    return (
        select(best.c.learner_id, func.sum(best.c.points).label("total"))
        .group_by(best.c.learner_id)
        .cte("totals")
    )


@dataclass(frozen=True, slots=True)
class Analysis:
    """The class's headline figures and each question's item analysis, by question id."""

    overall: ClassFigures
    questions: dict[str, QuestionFigures]


def optional_points(questions: Iterable[Question]) -> dict[str, list[str]]:
    """Return each question's optional key points, by question id."""
    return {
        str(q.id): [p.id for p in q.rubric.key_points if p.optional]
        for q in questions
        if any(p.optional for p in q.rubric.key_points)
    }


def analyse(
    session: Session,
    question_ids: Collection[str],
    top: int | None = None,
    optional: Mapping[str, Collection[str]] | None = None,
) -> Analysis:
    """Return the class figures and the item analysis of each question.

    ``question_ids`` names every question in the quiz (a learner's total spans them all);
    ``top`` keeps only the most frequent missed key points and misconceptions of each
    question. A point in ``optional`` (by question id) is never "missed": a complete answer
    need not make it, as the learner's own page says.
    """
    ids = list(question_ids)
    figures = {qid: QuestionFigures(qid) for qid in ids}
    overall = _add_moments(session, ids, figures)
    point, mistake = AttemptPoint, AttemptMisconception
    beyond = [
        and_(point.question_id == qid, point.point_id.in_(points))
        for qid, points in (optional or {}).items()
        if points
    ]
    required = [not_(or_(*beyond))] if beyond else []
    missed = _counts(
        session, point.question_id, point.point_id, ids, top, point.met.is_(False), *required
    )
    found = _counts(session, mistake.question_id, mistake.misconception_id, ids, top)
    for qid, item in figures.items():
        item.missed, item.misconceptions = missed.get(qid, []), found.get(qid, [])
    return Analysis(overall, figures)


def _add_moments(
    session: Session, question_ids: list[str], figures: dict[str, QuestionFigures]
) -> ClassFigures:
    """Fill each question's figures and return the class's, in one statement.

    The best scores are grouped once; SQLite and PostgreSQL both materialise a CTE that a
    statement reads more than once.
    """
    best = best_scores(question_ids, get_count_practice(session))
    totals = learner_totals(best)
    moments, spread = _moments(best, totals), _spread(best)
    headline = (
        select(func.count(Learner.id)).scalar_subquery().label("all_learners"),
        select(func.count()).select_from(totals).scalar_subquery().label("active"),
        select(func.sum(best.c.attempts)).scalar_subquery().label("all_attempts"),
        select(func.avg(best.c.score)).scalar_subquery().label("class_mean"),
        select(func.avg(totals.c.total)).scalar_subquery().label("mean_total"),
    )
    query = select(*headline, moments, spread.c.median, *_bins(spread)).join_from(
        moments, spread, moments.c.question_id == spread.c.question_id
    )
    rows = session.execute(query).all()
    for row in rows:
        item = figures[row.question_id]
        item.learners, item.attempts = int(row.learners), int(row.attempts)
        item.mean_score, item.mean_points = row.mean_score, row.mean_points
        item.median_score = row.median
        item.discrimination = pearson(int(row.learners), row.sx, row.sy, row.sxx, row.syy, row.sxy)
        item.histogram = [int(count) for count in row[-BINS:]]
    if not rows:
        learners = session.scalar(select(func.count(Learner.id))) or 0
        return ClassFigures(int(learners), 0, 0, None, None)
    first = rows[0]
    return ClassFigures(
        learners=int(first.all_learners),
        active_learners=int(first.active),
        attempts=int(first.all_attempts),
        mean_score=first.class_mean,
        mean_total=first.mean_total,
    )


def _moments(best: CTE, totals: CTE) -> Subquery:
    """Per question: learners, attempts, means, and the sums behind Pearson's r.

    Discrimination correlates, over the learners who answered, the best score on the
    question with the rest of the learner's total (their total less this question).
    """
    x = best.c.score
    y = totals.c.total - best.c.points
    return (
        select(
            best.c.question_id,
            func.count().label("learners"),
            func.sum(best.c.attempts).label("attempts"),
            func.avg(x).label("mean_score"),
            func.avg(best.c.points).label("mean_points"),
            func.sum(x).label("sx"),
            func.sum(y).label("sy"),
            func.sum(x * x).label("sxx"),
            func.sum(y * y).label("syy"),
            func.sum(x * y).label("sxy"),
        )
        .join_from(best, totals, best.c.learner_id == totals.c.learner_id)
        .group_by(best.c.question_id)
        .subquery("moments")
    )


def _spread(best: CTE) -> Subquery:
    """Per question: the median and the histogram, from how many learners got each score.

    A score held by ``c`` learners with ``upto`` learners at or below it covers the
    positions ``upto - c + 1`` to ``upto`` of the sorted scores; the middle positions k
    of ``n`` are those with ``n <= 2k <= n + 2``, so no division is needed.
    """
    tally = (
        select(best.c.question_id, best.c.score, func.count().label("c"))
        .group_by(best.c.question_id, best.c.score)
        .subquery("tally")
    )
    by_question = tally.c.question_id
    upto = func.sum(tally.c.c).over(
        partition_by=by_question, order_by=tally.c.score, rows=(None, 0)
    )
    cumulative = select(
        tally,
        upto.label("upto"),
        func.sum(tally.c.c).over(partition_by=by_question).label("n"),
    ).subquery("cumulative")
    c, n, upto_ = cumulative.c.c, cumulative.c.n, cumulative.c.upto
    middle = (2 * upto_ >= n) & (2 * (upto_ - c) <= n)
    bin_ = score_bin(cumulative.c.score)
    return (
        select(
            cumulative.c.question_id,
            func.avg(case((middle, cumulative.c.score))).label("median"),
            *(
                func.sum(case((bin_ == index, c), else_=0)).label(f"bin{index}")
                for index in range(BINS)
            ),
        )
        .group_by(cumulative.c.question_id)
        .subquery("spread")
    )


def _bins(spread: Subquery) -> list[ColumnElement[Any]]:
    """Return the histogram's columns of the spread subquery, lowest band first."""
    return [spread.c[f"bin{index}"] for index in range(BINS)]


def pearson(n: int, sx: float, sy: float, sxx: float, syy: float, sxy: float) -> float | None:
    """Return Pearson's r from the sums; None below two learners or without spread."""
    if n < 2:
        return None
    var_x, var_y = n * sxx - sx * sx, n * syy - sy * sy
    if var_x <= VARIANCE_EPSILON * n * sxx or var_y <= VARIANCE_EPSILON * n * syy:
        return None
    r = (n * sxy - sx * sy) / math.sqrt(var_x * var_y)
    return max(-1.0, min(1.0, r))


def score_bin(score: ColumnElement[float]) -> ColumnElement[int]:
    """Return the histogram bin of a score in [0, 1]: tenths, with 1.0 in the top bin."""
    edges = [(score < round((index + 1) / BINS, 6), index) for index in range(BINS - 1)]
    return case(*edges, else_=BINS - 1)


def _counts(
    session: Session,
    question: InstrumentedAttribute[str],
    key: InstrumentedAttribute[str],
    question_ids: list[str],
    top: int | None,
    *conditions: ColumnElement[bool],
) -> dict[str, list[Count]]:
    """Count rows per question id and key, most frequent first, keeping the ``top`` of each."""
    count = func.count()
    rank = func.row_number().over(partition_by=question, order_by=(count.desc(), key))
    ranked = (
        select(
            question.label("question"), key.label("key"), count.label("count"), rank.label("rank")
        )
        .where(question.in_(question_ids), *conditions)
        .group_by(question, key)
        .subquery()
    )
    query = select(ranked.c.question, ranked.c.key, ranked.c.count).order_by(
        ranked.c.question, ranked.c.rank
    )
    if top is not None:
        query = query.where(ranked.c.rank <= top)
    found: dict[str, list[Count]] = {}
    for question_id, item_id, times in session.execute(query):
        found.setdefault(question_id, []).append(Count(item_id, int(times)))
    return found


def matrix_rows(
    session: Session,
    question_ids: Sequence[str],
    sort: str,
    descending: bool,
    offset: int,
    limit: int,
) -> list[MatrixRow]:
    """Return one page of learners with their best results, sorted by name, total or a question.

    Unanswered sorts below a score of zero in either order; ties go by name.
    """
    count_practice = get_count_practice(session)
    query = select(Learner.id, Learner.display_name)
    key: SQLColumnExpression[Any]
    if sort == SORT_NAME:
        key = Learner.name_key
    elif sort == SORT_TOTAL:
        totals = learner_totals(best_scores(question_ids, count_practice))
        query = query.outerjoin(totals, totals.c.learner_id == Learner.id)
        key = func.coalesce(totals.c.total, -1.0)
    else:
        column = best_scores([sort], count_practice)
        query = query.outerjoin(column, column.c.learner_id == Learner.id)
        key = func.coalesce(column.c.score, -1.0)
    query = query.order_by(key.desc() if descending else key.asc(), Learner.name_key, Learner.id)
    page = session.execute(query.offset(offset).limit(limit)).all()
    cells, totals_by_learner = _cells(
        session, question_ids, [row[0] for row in page], count_practice
    )
    return [
        MatrixRow(lid, name, totals_by_learner.get(lid), cells.get(lid, {})) for lid, name in page
    ]


def _cells(
    session: Session, question_ids: Sequence[str], learner_ids: list[int], count_practice: bool
) -> tuple[dict[int, dict[str, Cell]], dict[int, float]]:
    """Return the best results of some learners, and their totals summed in SQL."""
    if not learner_ids:
        return {}, {}
    best = best_scores(question_ids, count_practice, learner_ids)
    total = func.sum(best.c.points).over(partition_by=best.c.learner_id)
    query = select(
        best.c.learner_id, best.c.question_id, best.c.score, best.c.points, best.c.attempts, total
    )
    cells: dict[int, dict[str, Cell]] = {}
    totals: dict[int, float] = {}
    for lid, qid, score, points, attempts, learner_total in session.execute(query):
        cells.setdefault(lid, {})[qid] = Cell(score, points, int(attempts))
        totals[lid] = learner_total
    return cells, totals
