"""Read a stored grading result back, whatever its age, and the grader's reasoning in it.

An attempt keeps the GradeResult it was graded with as JSON (``Attempt.breakdown``).
Every reader goes through ``read_result``: results stored by any grader since the first
validate as they are (fields added since have defaults); anything else, such as rows
written by hand, is read for what is there, and what is missing or malformed is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.grading import Evidence, GradeResult, MisconceptionResult, PointResult
from app.models import Attempt


@dataclass(frozen=True, slots=True)
class Span:
    """Words of the answer and the rubric phrase they matched."""

    text: str
    phrase: str


@dataclass(frozen=True, slots=True)
class PointEvidence:
    """One key point as graded: met or missed, and the phrases that decided it."""

    text: str
    met: bool
    optional: bool
    matched: tuple[Span, ...]  # empty unless met
    against: tuple[Span, ...]  # contradictions found in the answer
    voided_by: tuple[str, ...]  # misconceptions that cancelled it


def read_result(breakdown: object, attempt: Attempt | None = None) -> GradeResult:
    """Return a stored grading result; the attempt's own columns fill what a bad row lacks."""
    try:
        return GradeResult.model_validate(breakdown)
    except ValidationError:
        return _salvage(breakdown if isinstance(breakdown, dict) else {}, attempt)


def stored_result(attempt: Attempt) -> GradeResult:
    """Return the grading result an attempt was stored with."""
    return read_result(attempt.breakdown, attempt)


def point_evidence(result: GradeResult) -> list[PointEvidence]:
    """Return each key point with its matched phrases and what counted against it."""
    return [
        PointEvidence(
            text=point.text,
            met=point.met,
            optional=point.optional,
            matched=tuple(_span(e) for e in point.evidence) if point.met else (),
            against=tuple(_span(e) for e in point.contradicted_by),
            voided_by=tuple(point.voided_by),
        )
        for point in result.key_points
    ]


def matched_spans(result: GradeResult) -> list[tuple[int, int]]:
    """Return the (start, end) spans of the answer that earned a met key point."""
    return sorted((e.start, e.end) for p in result.key_points if p.met for e in p.evidence)


def _span(evidence: Evidence) -> Span:
    return Span(evidence.text, evidence.phrase)


def _salvage(data: dict[str, Any], attempt: Attempt | None) -> GradeResult:
    """Read what a malformed stored result holds, skipping malformed entries."""
    points = [_point(item) for item in _dicts(data.get("key_points"))]
    mistakes = [
        MisconceptionResult(
            id=str(item.get("id") or "?"),
            feedback=str(item.get("feedback") or ""),
            evidence=_evidence(item.get("evidence")),
            demo=item.get("demo") if isinstance(item.get("demo"), int) else None,
        )
        for item in _dicts(data.get("misconceptions"))
    ]
    full = data.get("full_marks_weight")
    return GradeResult(
        question=attempt.question_number if attempt is not None else 0,
        score=attempt.score if attempt is not None else 0.0,
        points=attempt.points if attempt is not None else 0.0,
        max_points=attempt.max_points if attempt is not None else 0.0,
        feedback=str(data.get("feedback") or ""),
        key_points=points,
        misconceptions=mistakes,
        keyword_list=bool(data.get("keyword_list")),
        full_marks_weight=full if isinstance(full, int | float) else None,
    )


def _point(item: dict[str, Any]) -> PointResult:
    weight = item.get("weight")
    voided = item.get("voided_by")
    return PointResult(
        id=str(item.get("id") or ""),
        text=str(item.get("text") or item.get("id") or "?"),
        weight=weight if isinstance(weight, int | float) and not isinstance(weight, bool) else 0,
        met=bool(item.get("met")),
        evidence=_evidence(item.get("evidence")),
        contradicted_by=_evidence(item.get("contradicted_by")),
        voided_by=list(map(str, voided)) if isinstance(voided, list) else [],
        optional=bool(item.get("optional")),
    )


def _evidence(raw: object) -> list[Evidence]:
    """Keep the spans that say where they are in the answer."""
    return [
        Evidence(
            start=span["start"],
            end=span["end"],
            text=str(span.get("text") or ""),
            phrase=str(span.get("phrase") or ""),
        )
        for span in _dicts(raw)
        if isinstance(span.get("start"), int) and isinstance(span.get("end"), int)
    ]


def _dicts(raw: object) -> list[dict[str, Any]]:
    return [item for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []
