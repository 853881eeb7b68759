"""Grade an answer against its question's rubric: a pure, explainable function of the text."""

from __future__ import annotations

from pydantic import BaseModel

from app.matching import Match, Token, compile_pattern, find_matches, tokenize
from app.schema import Question

# Words that glue a sentence together; an answer almost without them is a bare list of terms.
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "they",
        "them",
        "their",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "should",
        "must",
        "may",
        "might",
        "of",
        "to",
        "in",
        "into",
        "for",
        "with",
        "by",
        "on",
        "at",
        "from",
        "as",
        "and",
        "or",
        "so",
        "because",
        "since",
        "than",
        "then",
        "when",
        "which",
        "who",
        "what",
        "if",
        "also",
        "only",
        "gives",
        "give",
        "returns",
        "return",
        "uses",
        "use",
        "used",
        "makes",
        "make",
        "lets",
        "allows",
        "means",
        "need",
        "needs",
        "where",
        "while",
        "whereas",
        "but",
        "not",
        "no",
    ]
)
KEYWORD_LIST_RATIO = 0.1
KEYWORD_LIST_MIN_GLUE = 2
BANDS = (
    (0.85, "Excellent: you covered the key points."),
    (0.6, "Good answer, with a gap or two."),
    (0.3, "Partly right: some key points are missing."),
    (0.0, "Not there yet: compare your answer with the reference answer."),
)
KEYWORD_LIST_ADVICE = (
    "Your answer lists terms without explaining them; write full sentences to earn full credit."
)


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
    # How sure the grader is (0..1); below the review line the score is provisional and
    # the answer waits in the instructor's review queue, with the reason.
    confidence: float = 1.0
    needs_review: bool = False
    review_reason: str | None = None
    # What the grader noticed beyond key points: see FLAGS.
    flags: list[str] = []
    language: str = "en"

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


def grade_answer(question: Question, text: str) -> GradeResult:
    """Grade an answer against the question's rubric."""
    rubric = question.rubric
    tokens = tokenize(text)
    misconceptions = [
        MisconceptionResult(id=m.id, feedback=m.feedback, evidence=evidence, demo=m.demo)
        for m in rubric.misconceptions
        if (evidence := _evidence(m.any_of, tokens, text))
    ]
    voiding = {
        point_id: [m.id for m in misconceptions if point_id in _voids(question, m.id)]
        for point_id in (p.id for p in rubric.key_points)
    }
    points: list[PointResult] = []
    for point in rubric.key_points:
        evidence = _evidence(point.any_of, tokens, text)
        against = _evidence(point.contradicted_by, tokens, text)
        met = bool(evidence) and not against and not voiding[point.id]
        points.append(
            PointResult(
                id=point.id,
                text=point.text,
                weight=point.weight,
                met=met,
                evidence=evidence,
                contradicted_by=against,
                voided_by=voiding[point.id],
            )
        )
    score = sum(p.weight for p in points if p.met) / rubric.total_weight
    keyword_list = rubric.explain and is_keyword_list(tokens)
    if keyword_list:
        score = min(score, rubric.keyword_cap)
    score = round(score, 3)
    return GradeResult(
        question=question.number,
        score=score,
        points=round(score * question.points, 2),
        max_points=question.points,
        feedback=_feedback(score, points, misconceptions, keyword_list),
        key_points=points,
        misconceptions=misconceptions,
        keyword_list=keyword_list,
    )


def is_keyword_list(tokens: list[Token]) -> bool:
    """Tell whether an answer is a bare list of terms rather than explanation."""
    if len(tokens) < 3:
        return False
    glue = sum(1 for token in tokens if token.text.lower() in FUNCTION_WORDS)
    return glue < KEYWORD_LIST_MIN_GLUE or glue / len(tokens) < KEYWORD_LIST_RATIO


def _evidence(phrases: list[str], tokens: list[Token], text: str) -> list[Evidence]:
    """Return the non-negated matches of any phrase, as spans of the text."""
    found: list[Match] = []
    for phrase in phrases:
        found.extend(m for m in find_matches(compile_pattern(phrase), tokens) if not m.negated)
    found.sort(key=lambda m: (m.start, -m.end))
    return [
        Evidence(start=m.start, end=m.end, text=text[m.start : m.end], phrase=m.pattern)
        for m in found
    ]


def _voids(question: Question, misconception_id: str) -> list[str]:
    for misconception in question.rubric.misconceptions:
        if misconception.id == misconception_id:
            return misconception.voids
    return []


def _feedback(
    score: float,
    points: list[PointResult],
    misconceptions: list[MisconceptionResult],
    keyword_list: bool,
) -> str:
    """Compose the feedback a learner reads first: a verdict, then what to fix."""
    parts = [next(message for floor, message in BANDS if score >= floor)]
    missed = [p.text.rstrip(".") for p in points if not p.met]
    if missed:
        parts.append("Missed: " + "; ".join(missed) + ".")
    parts.extend(m.feedback for m in misconceptions)
    if keyword_list:
        parts.append(KEYWORD_LIST_ADVICE)
    return " ".join(parts)
