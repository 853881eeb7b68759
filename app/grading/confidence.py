"""Decide how far to trust a grade, and when an instructor should look at the answer.

A rubric reads English statements. When an answer is in another language, cannot be read,
says a thing and its opposite, looks built to game the matcher, copies the reference, or
uses the reference's vocabulary while matching few points (a phrasing the rubric may lack),
the grade is provisional: the learner is told so and the answer joins the review queue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from app.grading.language import ENGLISH, is_english_word
from app.grading.reading import Reading
from app.grading.result import (
    CONFLICTING,
    COPIES_REFERENCE,
    NOT_ENGLISH,
    PADDED,
    UNMATCHED_VOCABULARY,
    UNREADABLE,
    WORD_SALAD,
    MisconceptionResult,
    PointResult,
)
from app.tokens import IDENTIFIERS, stem_word

LANGUAGE_NAMES = {
    "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "pl": "Polish",
    "cs": "Czech", "ru": "Russian", "uk": "Ukrainian", "tr": "Turkish", "ar": "Arabic",
    "fa": "Persian", "hi": "Hindi", "zh": "Chinese", "ja": "Japanese", "ko": "Korean",
    "vi": "Vietnamese", "id": "Indonesian",
}  # fmt: skip
REASONS = {
    UNREADABLE: "The grader could not read this answer as English prose.",
    WORD_SALAD: "Parts of the answer string rubric terms together without saying anything.",
    PADDED: "The answer is far longer than a complete one; only its best sentences earned credit.",
    COPIES_REFERENCE: "The answer reproduces the reference answer or the key points.",
    CONFLICTING: "The answer states a key point and also its opposite.",
    UNMATCHED_VOCABULARY: "The answer uses the reference answer's vocabulary but matched few "
    "key points: it may say them in words the rubric lacks.",
}
# How much each doubt takes off the confidence.
PENALTIES = {
    NOT_ENGLISH: 0.8,
    UNREADABLE: 0.7,
    WORD_SALAD: 0.5,
    PADDED: 0.45,
    COPIES_REFERENCE: 0.45,
    CONFLICTING: 0.5,
    UNMATCHED_VOCABULARY: 0.45,
}
REVIEW_BELOW = 0.6
# Unmatched vocabulary: this share of the reference's distinctive words, at this low a score.
VOCABULARY_SHARE = 0.5
VOCABULARY_SCORE = 0.2
VOCABULARY_MIN_WORDS = 20
READABLE_SHARE = 0.5
READABLE_MIN_WORDS = 5
SHORT_WORDS = 6
_WORD = re.compile(r"[^\W\d_]{2,}")
_STOP = frozenset(
    (
        "the", "a", "an", "and", "or", "of", "to", "in", "for", "on", "with", "by", "is", "are",
        "be", "as", "it", "its", "this", "that", "from", "can", "not", "you", "your", "when",
        "which", "what", "use", "used", "using", "would", "should", "than", "more", "also", "into",
        "but", "if", "they", "their", "there", "these", "those", "has", "have", "was", "were",
        "will", "only", "one", "two", "each", "such", "other", "both",
    )
)  # fmt: skip


@dataclass(frozen=True)
class Signals:
    """What the grader saw, for the verdict on its own reliability."""

    score: float
    flags: list[str]
    language: str
    points: Sequence[PointResult]
    misconceptions: Sequence[MisconceptionResult]
    reading: Reading  # the answer as the grader took it apart
    reference: str


@dataclass(frozen=True)
class Verdict:
    """The grader's confidence, and why an instructor should look if it should."""

    confidence: float
    needs_review: bool
    reason: str | None
    doubts: list[str] = field(default_factory=list)


def assess(signals: Signals) -> Verdict:
    """Return the grader's confidence in a score and whether it needs review."""
    doubts = [flag for flag in signals.flags if flag in PENALTIES]
    reasons: list[str] = []
    if signals.language != ENGLISH:
        doubts.append(NOT_ENGLISH)
        name = LANGUAGE_NAMES.get(signals.language, f"another language ({signals.language})")
        reasons.append(f"Written in {name}: the rubric reads English, so the score is provisional.")
    elif _unreadable(signals):
        doubts.append(UNREADABLE)
    if _conflicting(signals):
        doubts.append(CONFLICTING)
    if _unmatched_vocabulary(signals):
        doubts.append(UNMATCHED_VOCABULARY)
    reasons.extend(REASONS[d] for d in doubts if d in REASONS)
    confidence = 1.0 - max((PENALTIES[d] for d in doubts), default=0.0)
    if len(signals.reading.live) < SHORT_WORDS and signals.score > 0:
        confidence = min(confidence, 0.8)
    confidence = round(max(0.05, confidence), 2)
    needs_review = confidence < REVIEW_BELOW
    return Verdict(confidence, needs_review, " ".join(reasons) if needs_review else None, doubts)


def _unreadable(signals: Signals) -> bool:
    """Tell whether the prose is mostly not words: keyboard mash, symbols, mojibake."""
    words = _WORD.findall(signals.reading.prose)
    if len(words) < READABLE_MIN_WORDS:
        return False
    vocabulary = _lower_words(signals.reference)
    known = sum(1 for w in words if _known(w, vocabulary))
    return known / len(words) < READABLE_SHARE


@lru_cache(maxsize=256)
def _lower_words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text))


def _known(word: str, vocabulary: frozenset[str]) -> bool:
    lower = word.lower()
    camel = any(c.isupper() for c in word[1:])
    return camel or lower in vocabulary or lower in IDENTIFIERS or is_english_word(lower)


def _conflicting(signals: Signals) -> bool:
    """Tell whether the answer asserts a point and what contradicts it."""
    for point in signals.points:
        for against in point.contradicted_by:
            if any(e.end <= against.start or e.start >= against.end for e in point.evidence):
                return True
    return False


@lru_cache(maxsize=256)
def _reference_stems(text: str) -> frozenset[str]:
    return frozenset(stem_word(w) for w in _WORD.findall(text) if w.lower() not in _STOP)


def _unmatched_vocabulary(signals: Signals) -> bool:
    """Tell whether an answer shares the reference's words but earned little."""
    if signals.score > VOCABULARY_SCORE or signals.misconceptions:
        return False
    answer = {t.stem for t in signals.reading.live if t.text.lower() not in _STOP}
    if len(answer) < VOCABULARY_MIN_WORDS:
        return False
    reference = _reference_stems(signals.reference)
    if not reference:
        return False
    return len(answer & reference) / len(answer) >= VOCABULARY_SHARE
