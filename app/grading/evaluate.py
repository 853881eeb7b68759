"""Measure the grader against human scores: `tfquiz grade --eval`.

Labelled answers come from a YAML list (the devset's files or ../shared/grading's real
answers), JSON lines of {question, text, human}, or the database, where every attempt an
instructor settled (override, claim, review) is a labelled answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from app.agreement import Agreement, agreement
from app.grading.grader import grade_answer
from app.grading.result import GradeResult
from app.labels import labelled_answers
from app.questions import QuestionBank

WORST_SHOWN = 10
TEXT_SHOWN = 160


class EvalInputError(ValueError):
    """Raised with a message that says which file and entry is wrong, and how."""


@dataclass(frozen=True)
class Labelled:
    """One answer with the score a careful human gave it (0..1)."""

    question: int
    text: str
    human: float
    source: str


@dataclass(frozen=True)
class Graded:
    """A labelled answer and what the grader made of it."""

    item: Labelled
    result: GradeResult

    @property
    def error(self) -> float:
        """Return the grader's score minus the human's."""
        return self.result.score - self.item.human


def load_labelled(path: Path) -> list[Labelled]:
    """Read labelled answers from a YAML list, a folder of qNN.yaml files, or JSON lines."""
    if path.is_dir():
        return [item for file in sorted(path.glob("q*.yaml")) for item in load_labelled(file)]
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EvalInputError(f"{path}: cannot read it ({error.strerror})") from None
    if path.suffix in (".jsonl", ".ndjson", ".json"):
        return [_item(_json_line(path, n, line), path, n) for n, line in _lines(raw)]
    try:
        entries = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise EvalInputError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(entries, list):
        raise EvalInputError(f"{path}: expected a list of answers with question, text, human")
    default = _number_from_name(path)
    return [_item(e, path, n, default) for n, e in enumerate(entries, start=1)]


def labelled_from_db(session: Session, bank: QuestionBank) -> list[Labelled]:
    """Return every attempt an instructor judged, its counted score as the human score.

    Answers to a question no longer loaded are left out; a renumbered question is found
    by its id.
    """
    return [
        Labelled(question.number, row.text, row.human, "instructors' scores")
        for row in labelled_answers(session)
        if (question := bank.by_id(row.question_id)) is not None
    ]


def grade_all(bank: QuestionBank, items: Iterable[Labelled]) -> list[Graded]:
    """Grade each labelled answer against its question."""
    graded: list[Graded] = []
    for item in items:
        question = bank.questions.get(item.question)
        if question is None:
            raise EvalInputError(f"{item.source}: there is no question {item.question}")
        graded.append(Graded(item, grade_answer(question, item.text)))
    return graded


def measure(graded: Sequence[Graded]) -> Agreement:
    """Return the agreement of the grader with the humans on these answers."""
    return agreement([g.item.human for g in graded], [g.result.score for g in graded])


def format_report(graded: Sequence[Graded]) -> str:
    """Lay out agreement per question, per source, the worst answers, then the overall line."""
    lines = ["question   n  spearman    mae  over  under  review"]
    for number in sorted({g.item.question for g in graded}):
        part = [g for g in graded if g.item.question == number]
        lines.append(f"{number:8d} {_row(part)}")
    sources = sorted({g.item.source for g in graded})
    if len(sources) > 1:
        lines.append("by source:")
        for source in sources:
            part = [g for g in graded if g.item.source == source]
            lines.append(f"  {_row(part)}  {source[:60]}")
    lines.append(f"the {min(WORST_SHOWN, len(graded))} answers the grader got most wrong:")
    for g in sorted(graded, key=lambda g: -abs(g.error))[:WORST_SHOWN]:
        lines.extend(_worst(g))
    overall = measure(graded)
    review = sum(g.result.needs_review for g in graded)
    lines.append(
        f"overall: n={overall.n} spearman={_number(overall.spearman)} "
        f"mae={_number(overall.mae)} over-credited={overall.over} "
        f"under-credited={overall.under} (by 0.3 or more)"
    )
    lines.append(f"needs review: {review} of {len(graded)} ({review / max(1, len(graded)):.0%})")
    return "\n".join(lines)


def _row(part: Sequence[Graded]) -> str:
    stats = measure(part)
    review = sum(g.result.needs_review for g in part)
    return (
        f"{stats.n:3d}  {_number(stats.spearman):>8s}  {_number(stats.mae):>5s}  "
        f"{stats.over:4d}  {stats.under:5d}  {review:6d}"
    )


def _worst(graded: Graded) -> list[str]:
    item, result = graded.item, graded.result
    met = [
        _deciding(p.id, p.evidence[0].text if p.evidence else "")
        for p in result.key_points
        if p.met
    ]
    missed = [p.id for p in result.key_points if not p.met and not p.optional]
    text = " ".join(item.text.split())
    shown = text if len(text) <= TEXT_SHOWN else text[: TEXT_SHOWN - 1] + "\u2026"
    extra = f" flags: {', '.join(result.flags)}" if result.flags else ""
    scores = f"human {item.human:.2f} auto {result.score:.2f}"
    return [
        f"  q{item.question} {scores} ({item.source[:40]}){extra}",
        f"    met: {', '.join(met) or '-'}; missed: {', '.join(missed) or '-'}",
        f"    {shown!r}",
    ]


def _deciding(point: str, words: str) -> str:
    return f"{point} ({words!r})" if words else point


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _lines(raw: str) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(raw.splitlines(), start=1) if line.strip()]


def _json_line(path: Path, number: int, line: str) -> object:
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise EvalInputError(f"{path}:{number}: not valid JSON ({error.msg})") from None


def _number_from_name(path: Path) -> int | None:
    stem = path.stem
    return int(stem[1:]) if stem[:1] == "q" and stem[1:].isdigit() else None


def _item(entry: object, path: Path, number: int, default: int | None = None) -> Labelled:
    """Check one entry and turn it into a labelled answer."""
    where = f"{path}: entry {number}"
    if not isinstance(entry, dict):
        raise EvalInputError(f"{where}: expected a mapping with question, text and human")
    question = entry.get("question", default)
    text, human = entry.get("text"), entry.get("human")
    if not isinstance(question, int) or isinstance(question, bool):
        raise EvalInputError(f"{where}: 'question' must be a question number")
    if not isinstance(text, str):
        raise EvalInputError(f"{where}: 'text' must be the answer's text")
    if isinstance(human, bool) or not isinstance(human, int | float) or not 0 <= human <= 1:
        raise EvalInputError(f"{where}: 'human' must be a score from 0 to 1")
    source = entry.get("source") or entry.get("label") or path.name
    return Labelled(question, text, float(human), str(source))
