"""Tolerant phrase matching over an answer's words: choices, gaps, typos and negation.

A *pattern* is a phrase such as ``"not a drop-in replacement"``, ``"range ... int32"`` or
``"{subclass|class} ... {hyperparameters|threshold}"``. Its words must appear in order
inside one statement of the answer; ``...`` allows a gap of a few words and ``{a|b}`` one of
several words or phrases. A word that is not a dictionary word tolerates one typo (two in
long words), so "differenciates" still counts for "differentiation", while "unrelated" never
becomes "unroll" nor "FastAPI" fastai.

A match is *negated* when its statement says the opposite: the nearest negation before it
("not", "never", "isn't", "without", "avoid", ...), one inside its gaps, or one right after
it ("GPU support is not there"). A negation the pattern spells itself ("not the same") is
part of the match, so "they are not the same" matches "not the same" plainly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA

from app.tokens import IDENTIFIERS, TOKEN_RE, Token, stem_word

# "not only X but Y" and "not just" assert X.
NEGATION_RELEASES = frozenset({"only", "just", "merely", "simply", "solely"})
# "X is not ...", "X does not ...": a negation right after the match, through these.
AUXILIARIES = frozenset(
    {"is", "are", "was", "were", "be", "does", "do", "did", "can", "will", "would", "should"}
)
GAP = "..."
MAX_GAP_WORDS = 6
POST_NEGATION_REACH = 2
# How far back a negation governs: "I don't think it supports GPUs".
NEGATION_LOOKBACK = 5
DOUBLE_NEGATION_REACH = 2


@dataclass(frozen=True, slots=True)
class Match:
    """Where a pattern matched, and whether a negation governs it."""

    pattern: str
    start: int
    end: int
    negated: bool
    first: int = 0
    last: int = 0


_CHOICE = re.compile(r"\{([^{}]*)\}")
_PART = re.compile(r"\{[^{}]*\}|\S+")


@lru_cache(maxsize=8192)
def expand_phrase(phrase: str) -> tuple[str, ...]:
    """Spell out a phrase's choices: "range ... {int32|32-bit}" is two phrases."""
    found = _CHOICE.search(phrase)
    if found is None:
        return (phrase,)
    head, tail = phrase[: found.start()], phrase[found.end() :]
    return tuple(
        variant
        for option in found.group(1).split("|")
        for variant in expand_phrase(f"{head}{option.strip()}{tail}")
    )


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a phrase: its stem, and whether a typo of it may still match."""

    stem: str
    fuzzy: bool


Option = tuple[Word, ...]


@dataclass(frozen=True, slots=True)
class Slot:
    """A place in a phrase: one of several options, each words that stand side by side."""

    gap: int
    options: tuple[Option, ...]
    optional: bool
    # The options by the stem of their first word, and those whose first word may take a
    # typo by its first letter: a word of the answer is tried only against options it can
    # start (grading tried every option at every word before, most of a long answer's time).
    by_stem: dict[str, tuple[Option, ...]]
    by_initial: dict[str, tuple[Option, ...]]

    def candidates(self, token: Token, fuzzy: bool) -> tuple[Option, ...]:
        """Return the options that could start at this word of the answer."""
        exact = self.by_stem.get(token.stem, ())
        if not fuzzy:
            return exact
        return exact + tuple(
            o for o in self.by_initial.get(token.stem[:1], ()) if o[0].stem != token.stem
        )


def _slot_of(gap: int, options: tuple[Option, ...], optional: bool) -> Slot:
    by_stem: dict[str, list[Option]] = {}
    by_initial: dict[str, list[Option]] = {}
    for option in options:
        by_stem.setdefault(option[0].stem, []).append(option)
        if option[0].fuzzy:
            by_initial.setdefault(option[0].stem[:1], []).append(option)
    return Slot(
        gap,
        options,
        optional,
        {k: tuple(v) for k, v in by_stem.items()},
        {k: tuple(v) for k, v in by_initial.items()},
    )


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled phrase: its slots, with the gap of words allowed before each.

    A phrase's choices stay choices here rather than being spelt out into one pattern
    each: a rubric phrase may have forty, and trying each from every place its first word
    occurs made a 10,000-character answer take over 150 ms to grade.
    """

    source: str
    slots: tuple[Slot, ...]
    words: int


def _word(text: str) -> Word:
    # A rubric word written as a name (PyTorch, int32, fastai) matches exactly.
    return Word(stem_word(text), text.isalpha() and text.islower() and text not in IDENTIFIERS)


@lru_cache(maxsize=8192)
def compile_pattern(source: str) -> Pattern:
    """Compile a phrase with its {a|b} choices; raise ValueError when it cannot match."""
    slots: list[Slot] = []
    gap = 0
    for part in _PART.findall(source):
        if part == GAP:
            gap = MAX_GAP_WORDS
            continue
        texts = part[1:-1].split("|") if part.startswith("{") and part.endswith("}") else [part]
        options = tuple(
            tuple(_word(w) for w in TOKEN_RE.findall(text)) for text in texts if text.strip()
        )
        options = tuple(option for option in options if option)
        if not options:
            if len(texts) > 1:
                raise ValueError(f"pattern {source!r} has a choice without words")
            continue
        if GAP in "".join(texts):
            raise ValueError(f"pattern {source!r}: a choice cannot hold '...'")
        slots.append(_slot_of(gap if slots else 0, options, len(options) < len(texts)))
        gap = 0
    if not slots:
        raise ValueError(f"pattern {source!r} has no words")
    if slots[0].optional:
        raise ValueError(f"pattern {source!r} cannot start with an optional choice")
    words = sum(min(len(option) for option in slot.options) for slot in slots)
    return Pattern(source, tuple(slots), words)


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


def _word_matches(word: Word, token: Token, lenient: bool) -> int:
    """Return 2 for an exact match, 1 for a forgiven typo, 0 for none."""
    if word.stem == token.stem:
        return 2
    if not word.fuzzy or (token.exact and not lenient):
        return 0
    return 1 if stems_match(word.stem, token.stem) else 0


class TokenIndex:
    """Where each stem of an answer occurs, so a phrase is tried only where it can start.

    Grading tries several hundred phrases on every answer; scanning every word for each
    would cost most of a long answer's grading time.
    """

    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = tokens
        self.positions: dict[str, list[int]] = {}
        for index, token in enumerate(tokens):
            self.positions.setdefault(token.stem, []).append(index)
        # A typo keeps the first letter (see stems_match): look only among those stems.
        self.by_initial: dict[str, list[str]] = {}
        for stem in self.positions:
            self.by_initial.setdefault(stem[:1], []).append(stem)
        self._starts: dict[Word, list[int]] = {}

    def starts(self, pattern: Pattern) -> list[int]:
        """Return the token indices where the pattern's first word could match."""
        found: set[int] = set()
        for option in pattern.slots[0].options:
            found.update(self._word_starts(option[0]))
        return sorted(found)

    def _word_starts(self, word: Word) -> list[int]:
        cached = self._starts.get(word)
        if cached is not None:
            return cached
        where = list(self.positions.get(word.stem, ()))
        if word.fuzzy:
            for stem in self.by_initial.get(word.stem[:1], ()):
                if stem != word.stem and stems_match(word.stem, stem):
                    where.extend(self.positions[stem])
        self._starts[word] = where
        return where


def find_matches(
    pattern: Pattern,
    tokens: Sequence[Token],
    index: TokenIndex | None = None,
    strict: bool = False,
) -> list[Match]:
    """Return every place the pattern occurs, leftmost and shortest first.

    ``strict`` keeps a match inside one stretch between commas: a phrase that takes a
    point away must not be assembled from two statements.
    """
    found: list[Match] = []
    starts = index.starts(pattern) if index is not None else range(len(tokens))
    for first in starts:
        token = tokens[first]
        if token.skip:
            continue
        span = _Matcher(pattern, tokens, first, strict, lenient=False).run()
        # A dictionary word may still be a typo inside a longer phrase whose other words
        # match exactly ("spare tensors" for "sparse tensors").
        if span is None and pattern.words > 1:
            span = _Matcher(pattern, tokens, first, strict, lenient=True).run()
        if span is None:
            continue
        last, used = span
        negated = _is_negated(tokens, first, last, used)
        found.append(Match(pattern.source, token.start, tokens[last].end, negated, first, last))
    return found


class _Matcher:
    """Fit a pattern's slots to the tokens from one start, trying options in order."""

    def __init__(
        self, pattern: Pattern, tokens: Sequence[Token], first: int, strict: bool, lenient: bool
    ) -> None:
        self.pattern, self.tokens, self.first = pattern, tokens, first
        self.strict, self.lenient = strict, lenient
        self.clause = tokens[first].clause
        self.soft = tokens[first].soft_clause
        self.statement = tokens[first].statement

    def run(self) -> tuple[int, frozenset[int]] | None:
        """Return the last index and the indices used, or None when the pattern fails here."""
        token = self.tokens[self.first]
        for option in self.pattern.slots[0].candidates(token, self._fuzzy(token)):
            placed = self._place(option, self.first, False)
            if placed is None:
                continue
            end, typo = placed
            rest = self._slot(1, end, typo, list(range(self.first, end + 1)))
            if rest is not None:
                return rest
        return None

    def _fuzzy(self, token: Token, typo: bool = False) -> bool:
        """Tell whether this word of the answer may match a phrase word with a typo."""
        return not token.exact or (self.lenient and not typo)

    def _usable(self, index: int) -> bool:
        token = self.tokens[index]
        if token.clause != self.clause or token.statement != self.statement or token.skip:
            return False
        return not self.strict or token.soft_clause == self.soft

    def _place(self, option: tuple[Word, ...], at: int, typo: bool) -> tuple[int, bool] | None:
        """Match an option's words side by side from ``at``; return its last index."""
        for offset, word in enumerate(option):
            index = at + offset
            if index >= len(self.tokens) or (offset and not self._usable(index)):
                return None
            quality = _word_matches(word, self.tokens[index], self.lenient and not typo)
            if not quality:
                return None
            typo = typo or (quality == 1 and self.tokens[index].exact)
        return at + len(option) - 1, typo

    def _slot(
        self, number: int, position: int, typo: bool, used: list[int]
    ) -> tuple[int, frozenset[int]] | None:
        if number == len(self.pattern.slots):
            if self.lenient and not typo:
                return None  # the strict pass already decided this start
            return position, frozenset(used)
        slot = self.pattern.slots[number]
        limit = min(len(self.tokens), position + 2 + slot.gap)
        for candidate in range(position + 1, limit):
            if not self._usable(candidate):
                break
            token = self.tokens[candidate]
            for option in slot.candidates(token, self._fuzzy(token, typo)):
                placed = self._place(option, candidate, typo)
                if placed is None:
                    continue
                end, now = placed
                found = self._slot(number + 1, end, now, [*used, *range(candidate, end + 1)])
                if found is not None:
                    return found
        if slot.optional:
            return self._slot(number + 1, position, typo, used)
        return None


def _is_negated(tokens: Sequence[Token], first: int, last: int, used: frozenset[int]) -> bool:
    """Tell whether the clause around a match negates it.

    The nearest negation before the match governs it, unless a second one stands right
    before that ("not without", "don't avoid"); negations inside its gaps and right after
    it ("GPU support is not there") flip it too.
    """
    scope = tokens[first].scope
    inside = sum(_negates(tokens, i) for i in range(first + 1, last) if i not in used)
    count = 0
    index = first - 1
    # A statement that carries its own negation ("arange is not int64") is not governed
    # by an earlier one ("range is not int32 and ...").
    reach = 0 if inside else NEGATION_LOOKBACK
    while index >= 0 and tokens[index].scope == scope and first - index <= reach:
        if _negates(tokens, index):
            count = 1
            for before in range(index - 1, max(-1, index - 1 - DOUBLE_NEGATION_REACH), -1):
                if tokens[before].scope == scope and _negates(tokens, before):
                    count = 0
            break
        index -= 1
    count += inside
    # "GPU support is not available": an auxiliary and a negation right after.
    index = last + 1
    reach = 0
    while index < len(tokens) and tokens[index].scope == scope and reach <= POST_NEGATION_REACH:
        word = tokens[index].text.lower()
        if tokens[index].negator:
            count += _negates(tokens, index)
            break
        if word not in AUXILIARIES:
            break
        index += 1
        reach += 1
    return count % 2 == 1


def _negates(tokens: Sequence[Token], index: int) -> int:
    token = tokens[index]
    if not token.negator:
        return 0
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    if after is not None and after.text.lower() in NEGATION_RELEASES:
        return 0
    return 1
