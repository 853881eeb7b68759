"""Match an answer's statements against the rubric's key points and score it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.grading import gaming
from app.grading.confidence import Signals, assess
from app.grading.language import ENGLISH, detect_language
from app.grading.reading import Reading, read_answer, soft_retractions
from app.grading.result import (
    COPIES_REFERENCE,
    KEYWORD_LIST,
    NO_ANSWER,
    PADDED,
    RESTATES_QUESTION,
    RETRACTED,
    WORD_SALAD,
    Evidence,
    GradeResult,
    MisconceptionResult,
    PointResult,
)
from app.matching import Match, TokenIndex, compile_pattern, expand_phrase, find_matches
from app.schema import KeyPoint, Question
from app.tokens import TOKEN_RE, Token, stem_word

BANDS = (
    (0.85, "Excellent: you covered the key points."),
    (0.6, "Good answer, with a gap or two."),
    (0.3, "Partly right: some key points are missing."),
    (0.0, "Not there yet: compare your answer with the reference answer."),
)
KEYWORD_LIST_ADVICE = (
    "Your answer lists terms without explaining them; write full sentences to earn full credit."
)
NO_ANSWER_FEEDBACK = "No answer yet: give it a try in your own words, even a partial one."
RESTATED_FEEDBACK = "Your answer repeats the question; say what you think the answer is."
SALAD_ADVICE = "Some sentences string terms together without saying anything about them."
# An answer mostly copied from the question earns nothing.
RESTATED_LIMIT = 0.7


@dataclass(frozen=True)
class _Found:
    """The matches of one key point in the answer."""

    point: KeyPoint
    evidence: list[Match]
    against: list[Match]


def grade_answer(question: Question, text: str) -> GradeResult:
    """Grade an answer against the question's rubric."""
    reading = read_answer(question, text)
    result = _grade(question, reading)
    # "Actually, ..." corrects what came before when what follows contradicts it.
    for start in reversed(soft_retractions(text)):
        if start <= 0 or not _contradicts_from(result, start):
            continue
        return _grade(question, read_answer(question, text, cut=start))
    return result


def _grade(question: Question, reading: Reading) -> GradeResult:
    rubric = question.rubric
    tokens = reading.tokens
    flags: list[str] = [RETRACTED] if reading.retracted else []
    index = TokenIndex(tokens)
    found = [
        _Found(p, _matches(p.any_of, index), _matches(p.contradicted_by, index, strict=True))
        for p in rubric.key_points
    ]
    salad = gaming.salad_sentences(tokens, _term_tokens(found), _vocabulary(question))
    if salad:
        flags.append(WORD_SALAD)
        found = [_drop_sentences(f, tokens, salad) for f in found]
    no_answer = gaming.is_no_answer(reading.text[_first_live(reading) :])
    reference_words = len(question.reference_markdown.split())
    if gaming.is_padded(len(reading.live), reference_words):
        flags.append(PADDED)
        found = _best_sentences(found, tokens, gaming.word_budget(reference_words))
    misconceptions = [
        MisconceptionResult(
            id=m.id, feedback=m.feedback, evidence=_spans(hits, reading.text), demo=m.demo
        )
        for m in rubric.misconceptions
        if (hits := _matches(m.any_of, index))
    ]
    detected = {m.id for m in misconceptions}
    points = [_point_result(f, question, detected, reading.text) for f in found]
    score = min(1.0, sum(p.weight for p in points if p.met) / rubric.total_weight)
    if PADDED in flags:
        score = min(score, gaming.PADDED_CAP)
    for misconception in rubric.misconceptions:
        if misconception.id in detected:
            score = min(score, misconception.cap)
    language = ENGLISH if no_answer else detect_language(reading.prose, _terms(question))
    # Function words are English ones: another language's prose is no list of terms.
    keyword_list = rubric.explain and language == ENGLISH and gaming.is_keyword_list(reading.prose)
    if keyword_list:
        flags.append(KEYWORD_LIST)
        score = min(score, rubric.keyword_cap)
    if no_answer:
        flags.append(NO_ANSWER)
        score = 0.0
    if reading.restated_share >= RESTATED_LIMIT:
        flags.append(RESTATES_QUESTION)
        score = 0.0
    copied = gaming.copy_share(
        reading.text, [question.reference_markdown, *(p.text for p in rubric.key_points)]
    )
    if copied >= gaming.COPY_SHARE:
        flags.append(COPIES_REFERENCE)
    score = round(score, 3)
    verdict = assess(
        Signals(
            score=score,
            flags=flags,
            language=language,
            points=points,
            misconceptions=misconceptions,
            reading=reading,
            reference=question.reference_markdown,
        )
    )
    return GradeResult(
        question=question.number,
        score=score,
        points=round(score * question.points, 2),
        max_points=question.points,
        feedback=_feedback(score, misconceptions, flags),
        key_points=points,
        misconceptions=misconceptions,
        keyword_list=keyword_list,
        confidence=verdict.confidence,
        needs_review=verdict.needs_review,
        review_reason=verdict.reason,
        flags=flags,
        language=language,
        full_marks_weight=rubric.total_weight,
    )


def _matches(phrases: Sequence[str], index: TokenIndex, strict: bool = False) -> list[Match]:
    """Return the non-negated matches of any phrase, leftmost first."""
    found: dict[tuple[int, int], Match] = {}
    for phrase in phrases:
        for match in find_matches(compile_pattern(phrase), index.tokens, index, strict):
            if not match.negated and (match.start, match.end) not in found:
                found[match.start, match.end] = match
    return sorted(found.values(), key=lambda m: (m.start, -m.end))


def _spans(matches: Sequence[Match], text: str) -> list[Evidence]:
    return [
        Evidence(start=m.start, end=m.end, text=text[m.start : m.end], phrase=m.pattern)
        for m in matches
    ]


def _point_result(found: _Found, question: Question, detected: set[str], text: str) -> PointResult:
    point = found.point
    voided = [
        m.id for m in question.rubric.misconceptions if m.id in detected and point.id in m.voids
    ]
    met = bool(found.evidence) and not found.against and not voided
    return PointResult(
        id=point.id,
        text=point.text,
        weight=point.weight,
        met=met,
        evidence=_spans(found.evidence, text),
        contradicted_by=_spans(found.against, text),
        voided_by=voided,
        optional=point.optional,
        hint=point.hint,
    )


def _term_tokens(found: Sequence[_Found]) -> dict[int, str]:
    """Map each token that belongs to a key point's matched phrase to that point."""
    terms: dict[int, str] = {}
    for item in found:
        for match in item.evidence:
            for index in range(match.first, match.last + 1):
                terms.setdefault(index, item.point.id)
    return terms


def _drop_sentences(found: _Found, tokens: Sequence[Token], sentences: set[int]) -> _Found:
    kept = [m for m in found.evidence if tokens[m.first].clause not in sentences]
    return _Found(found.point, kept, found.against)


def _best_sentences(found: list[_Found], tokens: Sequence[Token], budget: int) -> list[_Found]:
    """Keep the evidence of the sentences that earn the most, up to a budget of words."""
    size: dict[int, int] = {}
    for token in tokens:
        if not token.skip:
            size[token.clause] = size.get(token.clause, 0) + 1
    earns: dict[int, set[int]] = {}
    for index, item in enumerate(found):
        for match in item.evidence:
            earns.setdefault(tokens[match.first].clause, set()).add(index)
    chosen: set[int] = set()
    covered: set[int] = set()
    spent = 0
    while True:
        options = [
            (sum(found[i].point.weight for i in points - covered) / size.get(clause, 1), clause)
            for clause, points in earns.items()
            if clause not in chosen and points - covered
        ]
        options = [o for o in options if spent + size.get(o[1], 1) <= budget]
        if not options:
            break
        _, clause = max(options)
        chosen.add(clause)
        covered |= earns[clause]
        spent += size.get(clause, 1)
    return [
        _Found(f.point, [m for m in f.evidence if tokens[m.first].clause in chosen], f.against)
        for f in found
    ]


_VOCABULARY: dict[tuple[str, str], frozenset[str]] = {}


def _vocabulary(question: Question) -> frozenset[str]:
    """Return the stems of every word of the rubric's phrases, once per question version."""
    key = (str(question.id), question.content_hash)
    found = _VOCABULARY.get(key)
    if found is None:
        phrases = [
            variant
            for point in question.rubric.key_points
            for phrase in point.any_of
            for variant in expand_phrase(phrase)
        ]
        found = frozenset(stem_word(w) for p in phrases for w in TOKEN_RE.findall(p))
        _VOCABULARY[key] = found
    return found


def _terms(question: Question) -> frozenset[str]:
    """Return the lower-case words of the reference answer: the subject's vocabulary."""
    return _words_of(question.reference_markdown)


@lru_cache(maxsize=256)
def _words_of(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in TOKEN_RE.findall(text))


def _first_live(reading: Reading) -> int:
    live = reading.live
    return live[0].start if live else len(reading.text)


def _contradicts_from(result: GradeResult, start: int) -> bool:
    """Tell whether a contradiction or a misconception is stated at or after ``start``."""
    against = any(e.start >= start for p in result.key_points for e in p.contradicted_by)
    wrong = any(e.start >= start for m in result.misconceptions for e in m.evidence)
    return against or wrong


def _feedback(score: float, misconceptions: Sequence[MisconceptionResult], flags: list[str]) -> str:
    """Compose the feedback a learner reads first: a verdict, then what to fix.

    The key points' texts are not here: the result page shows them once the reference
    answer is revealed, and hints before that.
    """
    if NO_ANSWER in flags:
        return NO_ANSWER_FEEDBACK
    if RESTATES_QUESTION in flags:
        return RESTATED_FEEDBACK
    parts = [next(message for floor, message in BANDS if score >= floor)]
    parts.extend(m.feedback for m in misconceptions)
    if KEYWORD_LIST in flags:
        parts.append(KEYWORD_LIST_ADVICE)
    if WORD_SALAD in flags:
        parts.append(SALAD_ADVICE)
    return " ".join(parts)
