"""Tolerant phrase matching over free text: stems, small typos, clauses and negation.

A *pattern* is a phrase such as ``"not a drop-in replacement"`` or ``"range ... int32"``.
Its words must appear in order inside one clause of the answer; ``...`` allows a gap of a
few words. Words are compared by their English stem, and longer words tolerate one typo
(two for long words), so "differenciates" still counts for "differentiation".
A match is *negated* when a negation word ("not", "never", "isn't", ...) stands shortly
before it or inside its gap, unless the pattern itself speaks of a negation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from rapidfuzz.distance import OSA

# Underscores separate words, so `get_config` and "get config" read alike.
TOKEN_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?", re.UNICODE)
# Sentence ends and contrast words close a clause: neither a gap nor a negation reaches past one.
HARD_BREAK_RE = re.compile(r"[.!?;\n]+(?:\s|$)|\n")
# A comma or a colon ends a negation's reach but not a gap: "ragged tensors: rows of
# different lengths" still links the name to its description.
SOFT_BREAK_CHARS = ",:"
CONTRAST_WORDS = frozenset(
    {"but", "whereas", "while", "whilst", "however", "although", "though", "unlike", "where"}
)
NEGATORS = frozenset(
    {"not", "no", "never", "nor", "neither", "none", "cannot", "nothing", "without", "nt"}
)
GAP = "..."
MAX_GAP_WORDS = 6
NEGATION_LOOKBACK = 3

_stemmer = snowballstemmer.stemmer("english")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of an answer with its place in the text."""

    text: str
    stem: str
    start: int
    end: int
    clause: int
    soft_clause: int
    negator: bool


@dataclass(frozen=True, slots=True)
class Match:
    """Where a pattern matched, and whether a negation governs it."""

    pattern: str
    start: int
    end: int
    negated: bool


@lru_cache(maxsize=65536)
def stem_word(word: str) -> str:
    """Return the lower-case English stem of one word."""
    return str(_stemmer.stemWord(word.lower()))


def is_negator(word: str) -> bool:
    """Tell whether a word negates what follows it."""
    lower = word.lower().replace("\u2019", "'")
    return lower in NEGATORS or lower.endswith("n't")


def tokenize(text: str) -> list[Token]:
    """Split text into words, each tagged with its clause for gap and negation scope."""
    breaks = [m.start() for m in HARD_BREAK_RE.finditer(text)]
    tokens: list[Token] = []
    clause = soft = 0
    next_break = 0
    last_end = 0
    for m in TOKEN_RE.finditer(text):
        clause_before = clause
        while next_break < len(breaks) and breaks[next_break] < m.start():
            next_break += 1
            clause += 1
        word = m.group()
        if word.lower() in CONTRAST_WORDS:
            clause += 1
        between = text[last_end : m.start()]
        if clause != clause_before or any(c in between for c in SOFT_BREAK_CHARS):
            soft += 1
        tokens.append(
            Token(word, stem_word(word), m.start(), m.end(), clause, soft, is_negator(word))
        )
        last_end = m.end()
    return tokens


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled phrase: stems with the gaps allowed before each."""

    source: str
    stems: tuple[str, ...]
    gaps: tuple[int, ...]
    speaks_negation: bool


@lru_cache(maxsize=8192)
def compile_pattern(source: str) -> Pattern:
    """Compile a phrase; raise ValueError when it has no words."""
    stems: list[str] = []
    gaps: list[int] = []
    speaks_negation = False
    pending_gap = 0
    for part in source.split():
        if part == GAP:
            pending_gap = MAX_GAP_WORDS
            continue
        words = TOKEN_RE.findall(part)
        for word in words:
            stems.append(stem_word(word))
            gaps.append(pending_gap if stems[:-1] else 0)
            speaks_negation = speaks_negation or is_negator(word)
            pending_gap = 0
    if not stems:
        raise ValueError(f"pattern {source!r} has no words")
    return Pattern(source, tuple(stems), tuple(gaps), speaks_negation)


@lru_cache(maxsize=262144)
def stems_match(pattern_stem: str, word_stem: str) -> bool:
    """Compare two stems, forgiving a typo (a swap counts as one) in long words, two in longer.

    Cached: grading compares every word of an answer with the first stem of every phrase of
    the rubric, and the same few thousand pairs come back answer after answer.
    """
    if pattern_stem == word_stem:
        return True
    if pattern_stem[0] != word_stem[0] or any(c.isdigit() for c in pattern_stem):
        return False
    size = len(pattern_stem)
    allowed = 2 if size >= 9 else 1 if size >= 5 else 0
    if not allowed or abs(size - len(word_stem)) > allowed:
        return False
    return OSA.distance(pattern_stem, word_stem, score_cutoff=allowed) <= allowed


def find_matches(pattern: Pattern, tokens: list[Token]) -> list[Match]:
    """Return every place the pattern occurs, leftmost and shortest first."""
    found: list[Match] = []
    for first, token in enumerate(tokens):
        if not stems_match(pattern.stems[0], token.stem):
            continue
        end_index = _match_rest(pattern, tokens, first)
        if end_index is None:
            continue
        negated = not pattern.speaks_negation and _is_negated(tokens, first, end_index)
        found.append(Match(pattern.source, token.start, tokens[end_index].end, negated))
    return found


def _match_rest(pattern: Pattern, tokens: list[Token], first: int) -> int | None:
    """Greedily extend a match from ``first``; return the index of its last token."""
    position = first
    for stem, gap in zip(pattern.stems[1:], pattern.gaps[1:], strict=True):
        limit = min(len(tokens), position + 2 + gap)
        for candidate in range(position + 1, limit):
            if tokens[candidate].clause != tokens[first].clause:
                return None
            if stems_match(stem, tokens[candidate].stem):
                position = candidate
                break
        else:
            return None
    return position


def _is_negated(tokens: list[Token], first: int, last: int) -> bool:
    """Tell whether a negation stands just before the match or inside it."""
    scope = tokens[first].soft_clause
    for index in range(max(0, first - NEGATION_LOOKBACK), first):
        if tokens[index].negator and tokens[index].soft_clause == scope:
            return True
    return any(tokens[i].negator for i in range(first + 1, last))
