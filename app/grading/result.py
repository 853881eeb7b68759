"""What grading one answer returns: key points met or missed, with the words that decided."""

from __future__ import annotations

from pydantic import BaseModel

# What the grader noticed beyond key points; each may put the answer in the review queue.
NOT_ENGLISH = "not-english"
UNREADABLE = "unreadable"
NO_ANSWER = "no-answer"
KEYWORD_LIST = "keyword-list"
WORD_SALAD = "word-salad"
PADDED = "padded"
RESTATES_QUESTION = "restates-question"
COPIES_REFERENCE = "copies-reference"
RETRACTED = "retracted"
CONFLICTING = "conflicting"
UNMATCHED_VOCABULARY = "unmatched-vocabulary"


class Evidence(BaseModel):
    """A span of the learner's own text that a rule matched."""

    start: int
    end: int
    text: str
    phrase: str


class PointResult(BaseModel):
    """Whether one key point was met, and the words that show it."""

    id: str
    text: str
    weight: float
    met: bool
    evidence: list[Evidence]
    contradicted_by: list[Evidence]
    voided_by: list[str]
    optional: bool = False
    hint: str = ""


class MisconceptionResult(BaseModel):
    """A misconception detected in the answer, with the feedback that corrects it."""

    id: str
    feedback: str
    evidence: list[Evidence]
    demo: int | None


class GradeResult(BaseModel):
    """The full, explainable outcome of grading one answer."""

    question: int
    score: float
    points: float
    max_points: float
    feedback: str
    key_points: list[PointResult]
    misconceptions: list[MisconceptionResult]
    keyword_list: bool
    # How sure the grader is (0..1); when it is unsure the score is provisional and the
    # answer waits in the instructor's review queue, with the reason.
    confidence: float = 1.0
    needs_review: bool = False
    review_reason: str | None = None
    flags: list[str] = []
    language: str = "en"
    # The weight of met points that earns full marks (the rubric's `require`, or its
    # required points); what one claimed point is worth. None in results stored before it.
    full_marks_weight: float | None = None

    def highlights(self) -> list[Evidence]:
        """Return the non-overlapping spans to mark in the answer, in text order."""
        spans = sorted(
            (e for p in self.key_points if p.met for e in p.evidence), key=lambda e: e.start
        )
        kept: list[Evidence] = []
        for span in spans:
            if not kept or span.start >= kept[-1].end:
                kept.append(span)
        return kept
