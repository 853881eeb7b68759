"""Read the grader's reasoning back out of a stored breakdown, whatever its age.

An attempt keeps the GradeResult it was graded with as JSON; older attempts lack fields
that newer graders write, so these readers take only what is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def key_points(breakdown: object) -> list[dict[str, Any]]:
    """Return the key points of a stored breakdown, skipping malformed entries."""
    items = breakdown.get("key_points") if isinstance(breakdown, dict) else None
    return [item for item in items or [] if isinstance(item, dict)]


def point_evidence(breakdown: object) -> list[PointEvidence]:
    """Return each key point with its matched phrases and what counted against it."""
    found = []
    for item in key_points(breakdown):
        matched = tuple(_span(span) for span in _spans(item.get("evidence")))
        against = tuple(_span(span) for span in _spans(item.get("contradicted_by")))
        voided = item.get("voided_by")
        found.append(
            PointEvidence(
                text=str(item.get("text") or item.get("id") or "?"),
                met=bool(item.get("met")),
                optional=bool(item.get("optional")),
                matched=matched if item.get("met") else (),
                against=against,
                voided_by=tuple(map(str, voided)) if isinstance(voided, list) else (),
            )
        )
    return found


def matched_spans(breakdown: object) -> list[tuple[int, int]]:
    """Return the (start, end) spans of the answer that earned a met key point."""
    spans = []
    for item in key_points(breakdown):
        if item.get("met"):
            for span in _spans(item.get("evidence")):
                start, end = span.get("start"), span.get("end")
                if isinstance(start, int) and isinstance(end, int):
                    spans.append((start, end))
    return sorted(spans)


def _spans(raw: object) -> list[dict[str, Any]]:
    return [span for span in raw if isinstance(span, dict)] if isinstance(raw, list) else []


def _span(span: dict[str, Any]) -> Span:
    return Span(str(span.get("text") or ""), str(span.get("phrase") or ""))
