"""Live rounds: a question opened to the room, and its figures as answers arrive.

Learners answer as usual (app.submissions records and grades the attempt in their own
records); a round only reads the attempts on its question made while it was open, each
learner's latest one counted once. Every figure is computed in SQL from the database, so
any number of web processes show the same tally. Closing stores the figures on the round
row, and a closed round reads only that snapshot: later attempts, regrades or overrides
leave it as it was.

One round is open at a time: opening another while one is open is refused, saying which
is open, rather than closing a round a colleague may still be presenting.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, Subquery, and_, case, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.analytics import BINS, score_bin
from app.charts import bin_label
from app.exports import Cell, json_value
from app.models import (
    Attempt,
    AttemptMisconception,
    AttemptPoint,
    Learner,
    LiveRound,
    RoundPick,
    utc_now,
)
from app.schema import Question
from app.validation import InvalidText

HIDDEN_NAME = "[name]"


class RoundRefused(InvalidText):
    """Raised when a round cannot be opened, closed or changed as asked; nothing changed."""


class Band(BaseModel):
    """How many answers scored in one band of the distribution."""

    label: str
    count: int


class Share(BaseModel):
    """A key point or misconception: how many counted answers had it, and their share."""

    id: str
    text: str
    count: int
    share: float | None
    demo: int | None = None  # the demo that refutes a misconception, if the rubric names one


class RoundAnswer(BaseModel):
    """A counted answer as the presenter may show it: no name, no email."""

    attempt_id: int
    text: str
    score: float
    picked: bool


class RoundFigures(BaseModel):
    """What a round shows: the tally, the distribution, key points, misconceptions, answers."""

    answered: int
    mean_score: float | None
    bands: list[Band]
    points: list[Share]
    misconceptions: list[Share]
    answers: list[RoundAnswer]

    @property
    def picked(self) -> list[RoundAnswer]:
        """Return the answers the presenter chose to show."""
        return [answer for answer in self.answers if answer.picked]

    @property
    def top_misconception(self) -> Share | None:
        """Return the most common misconception, if any answer held one."""
        return self.misconceptions[0] if self.misconceptions else None


def open_round(
    session: Session, question: Question, instructor_id: int | None, now: datetime | None = None
) -> LiveRound:
    """Open a round on a question, or raise RoundRefused while another round is open."""
    current = find_open(session)
    if current is not None:
        raise RoundRefused(
            f"Round {current.id} (question {current.question_number}) is still open: "
            "close it before opening another."
        )
    opened = LiveRound(
        question_id=str(question.id),
        question_number=question.number,
        opened_by=instructor_id,
        opened_at=now or utc_now(),
    )
    session.add(opened)
    session.flush()
    return opened


def find_open(session: Session) -> LiveRound | None:
    """Return the round now open, if any."""
    return session.scalars(select(LiveRound).where(LiveRound.is_open.is_(True))).first()


def past_rounds(session: Session, limit: int = 50) -> list[LiveRound]:
    """Return the closed rounds, latest first."""
    query = select(LiveRound).where(LiveRound.closed_at.is_not(None))
    return list(session.scalars(query.order_by(LiveRound.id.desc()).limit(limit)))


def close_round(session: Session, live: LiveRound, question: Question | None) -> RoundFigures:
    """Close an open round, freezing its figures in the snapshot; refuse a closed one."""
    if live.closed_at is not None:
        raise RoundRefused(f"Round {live.id} is already closed; its figures stay as they were.")
    figures = live_figures(session, live, question)
    live.closed_at, live.is_open = utc_now(), None
    live.snapshot = figures.model_dump(mode="json")
    live.version += 1
    return figures


def round_figures(session: Session, live: LiveRound, question: Question | None) -> RoundFigures:
    """Return a round's figures: live while open, the snapshot once closed."""
    if live.snapshot is not None:
        return RoundFigures.model_validate(live.snapshot)
    return live_figures(session, live, question)


def set_pick(session: Session, live: LiveRound, attempt_id: int, shown: bool) -> None:
    """Show or hide one of the round's counted answers on the screen."""
    if live.closed_at is not None:
        raise RoundRefused(f"Round {live.id} is closed: its answers can no longer change.")
    if attempt_id not in {int(i) for i in session.scalars(_latest_ids(live))}:
        raise RoundRefused(f"Attempt {attempt_id} is not an answer counted in this round.")
    picked = session.get(RoundPick, (live.id, attempt_id))
    if shown and picked is None:
        session.add(RoundPick(round_id=live.id, attempt_id=attempt_id))
    elif not shown and picked is not None:
        session.delete(picked)
    session.execute(
        update(LiveRound).where(LiveRound.id == live.id).values(version=LiveRound.version + 1)
    )


def record_demo_run(session: Session, live: LiveRound, question: Question, index: int) -> None:
    """Note that the presenter ran a demo, so the screen view runs and shows it too."""
    if not any(demo.index == index for demo in question.demos):
        raise RoundRefused(f"Question {question.number} has no demo {index}.")
    live.demo_index, live.demo_runs, live.version = index, live.demo_runs + 1, live.version + 1


def change_mark(session: Session, live: LiveRound) -> tuple[object, ...]:
    """Return what changes whenever a round's figures may: read cheaply, every second or so."""
    window = _window(live)
    newest = session.execute(
        select(func.count(Attempt.id), func.max(Attempt.id)).where(window)
    ).one()
    row = session.execute(
        select(LiveRound.version, LiveRound.closed_at).where(LiveRound.id == live.id)
    ).one()
    return (tuple(row), tuple(newest))


def live_figures(session: Session, live: LiveRound, question: Question | None) -> RoundFigures:
    """Compute a round's figures from the attempts counted in it, in SQL."""
    latest = _latest_ids(live).subquery("latest")
    counted = select(Attempt).join(latest, latest.c.id == Attempt.id).subquery("counted")
    bin_ = score_bin(counted.c.final_score)
    totals = session.execute(
        select(
            func.count(),
            func.avg(counted.c.final_score),
            *(func.sum(case((bin_ == index, 1), else_=0)) for index in range(BINS)),
        ).select_from(counted)
    ).one()
    answered = int(totals[0])
    bands = [Band(label=bin_label(i, BINS), count=int(totals[2 + i] or 0)) for i in range(BINS)]
    met = _grouped(
        session, AttemptPoint.point_id, AttemptPoint.attempt_id, latest, AttemptPoint.met.is_(True)
    )
    mistake = AttemptMisconception
    found = _grouped(session, mistake.misconception_id, mistake.attempt_id, latest)
    points = [
        Share(id=p.id, text=p.text, count=met.get(p.id, 0), share=_share(met.get(p.id), answered))
        for p in (question.rubric.key_points if question else [])
    ]
    mistakes = {m.id: m for m in question.rubric.misconceptions} if question else {}
    misconceptions = [
        Share(
            id=key,
            text=mistakes[key].feedback if key in mistakes else f"{key} (no longer in the rubric)",
            count=count,
            share=_share(count, answered),
            demo=mistakes[key].demo if key in mistakes else None,
        )
        for key, count in sorted(found.items(), key=lambda item: (-item[1], item[0]))
    ]
    return RoundFigures(
        answered=answered,
        mean_score=totals[1],
        bands=bands,
        points=points,
        misconceptions=misconceptions,
        answers=_answers(session, live, latest),
    )


def anonymise(text: str, names: list[str]) -> str:
    """Replace a learner's name and email in their answer's text, whatever the case."""
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", HIDDEN_NAME, text, flags=re.IGNORECASE)
    return text


def _window(live: LiveRound) -> ColumnElement[bool]:
    """Return the condition of an attempt on the round's question made while it was open."""
    conditions = [Attempt.question_id == live.question_id, Attempt.created_at >= live.opened_at]
    if live.closed_at is not None:
        conditions.append(Attempt.created_at <= live.closed_at)
    return and_(*conditions)


def _latest_ids(live: LiveRound) -> Select[Any]:
    """Select each learner's latest attempt in the round: ids grow with time."""
    return (
        select(func.max(Attempt.id).label("id")).where(_window(live)).group_by(Attempt.learner_id)
    )


def _grouped(
    session: Session,
    key: InstrumentedAttribute[str],
    attempt: InstrumentedAttribute[int],
    latest: Subquery,
    *conditions: ColumnElement[bool],
) -> dict[str, int]:
    """Count a result table's rows per key over the round's counted attempts."""
    query = (
        select(key, func.count())
        .join(latest, latest.c.id == attempt)
        .where(*conditions)
        .group_by(key)
    )
    return {str(k): int(n) for k, n in session.execute(query)}


def _share(count: int | None, answered: int) -> float | None:
    return (count or 0) / answered if answered else None


def _answers(session: Session, live: LiveRound, latest: Subquery) -> list[RoundAnswer]:
    """List the counted answers, lowest score first, each with the learner's name hidden."""
    picked = set(session.scalars(select(RoundPick.attempt_id).where(RoundPick.round_id == live.id)))
    query = (
        select(Attempt.id, Attempt.text, Attempt.final_score, Learner.display_name, Learner.email)
        .join(latest, latest.c.id == Attempt.id)
        .join(Learner, Learner.id == Attempt.learner_id)
        .order_by(Attempt.final_score, Attempt.id)
    )
    return [
        RoundAnswer(
            attempt_id=attempt_id,
            text=anonymise(text, [name, email or ""]),
            score=score,
            picked=attempt_id in picked,
        )
        for attempt_id, text, score, name, email in session.execute(query)
    ]


EXPORT_HEADERS = ["kind", "id", "text", "count", "share", "score"]


def export_rows(live: LiveRound, figures: RoundFigures) -> list[tuple[Cell, ...]]:
    """Return a round's figures and anonymised answers as the rows of its CSV export."""
    rows: list[tuple[Cell, ...]] = [
        ("round", live.id, f"question {live.question_number}", figures.answered, None, None),
        ("opened", live.id, live.opened_at, None, None, None),
        ("closed", live.id, live.closed_at, None, None, None),
        ("mean-score", live.id, None, None, None, figures.mean_score),
    ]
    rows += [("band", b.label, b.label, b.count, None, None) for b in figures.bands]
    rows += [("key-point", p.id, p.text, p.count, p.share, None) for p in figures.points]
    rows += [
        ("misconception", m.id, m.text, m.count, m.share, None) for m in figures.misconceptions
    ]
    rows += [("answer", a.attempt_id, a.text, None, None, a.score) for a in figures.answers]
    return rows


def export_document(live: LiveRound, figures: RoundFigures) -> dict[str, Any]:
    """Return a round as its JSON export: when, which question, the figures and answers."""
    return {
        "round": live.id,
        "question_number": live.question_number,
        "question_id": live.question_id,
        "opened_at": json_value(live.opened_at),
        "closed_at": json_value(live.closed_at) if live.closed_at else None,
        **figures.model_dump(mode="json"),
    }
