"""Read an answer as statements before any key point is matched.

The grader looks for phrases, but a person reads statements: what was retracted no longer
counts ("scratch that"), a clause copied from the question says nothing, "the former"
means the question's first thing, and pasted code or printed output is evidence yet not
prose (it never makes an answer "a bare list of terms").
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from app.grading.language import is_english_word
from app.matching import compile_pattern, find_matches
from app.schema import Question
from app.tokens import HARD_BREAK_RE, TOKEN_RE, Token, tokenize

# Phrases that take back everything said before them.
RETRACTION_RE = re.compile(
    r"\b(?:forget (?:that|it|this|what i (?:said|wrote)|everything(?: above| before)?|the above)"
    r"|scratch that|strike that|no,? wait|wait,? no|i was wrong|i'm wrong|i am wrong"
    r"|ignore (?:that|this|the above|what i (?:said|wrote)|everything(?: above| before| i said)?"
    r"|my (?:previous|earlier) (?:answer|statement))"
    r"|disregard (?:that|this|the above|what i (?:said|wrote)|everything(?: above| before)?)"
    r"|i take (?:that|it) back|never ?mind|on second thoughts?|correction:|just kidding"
    r"|i retract|that's wrong,? actually|that is wrong,? actually)",
    re.IGNORECASE,
)
# A sentence opening with these corrects what came before only if it then contradicts it.
SOFT_RETRACTION_RE = re.compile(
    r"(?:^|(?<=[.!?;\n]))\s*(?:actually|in fact|hmm+|oh|oops|sorry|wait)\b[,:]?",
    re.IGNORECASE,
)
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_CODE_LINE_RE = re.compile(
    r"^\s*(?:>>>|\.\.\.\s|In \[\d*\]:|Out\[\d*\]:|import \w|from [\w.]+ import|def \w|class \w+"
    r"[(:]|return\b|print\(|@\w|for \w+ in .*:\s*$|if .*:\s*$|with .*:\s*$|<?tf\.Tensor\b"
    r"|array\(|[\w.\[\]]+\s*=\s*\S|[\w.]+\(.*\)\s*$)"
)
# A clause is a restatement when this share of its words runs in the question's order.
RESTATED_SHARE = 0.8
RESTATED_MIN_WORDS = 4
RESTATED_NGRAM = 3


@dataclass(frozen=True)
class Reading:
    """An answer taken apart: its tokens, which of them count, and what was noticed."""

    text: str
    tokens: list[Token]
    retracted: bool
    restated_share: float
    prose: str

    @property
    def live(self) -> list[Token]:
        """Return the tokens that can earn or cost anything."""
        return [t for t in self.tokens if not t.skip]


def read_answer(question: Question, text: str, cut: int = 0) -> Reading:
    """Take an answer apart into the tokens that count; text before ``cut`` is retracted."""
    rubric = question.rubric
    referents = {
        key: TOKEN_RE.findall(words)
        for key, words in zip(("first", "second"), rubric.referents, strict=False)
    }
    tokens = tokenize(text, is_english_word, referents)
    lines = _lines(text)
    code = [(start, end) for start, end, is_code in lines if is_code]
    cut = max(cut, _last_retraction(text))
    asked = _questions(text)
    tokens = [
        _flag(t, _inside(t.start, code), t.start < cut or _inside(t.start, asked)) for t in tokens
    ]
    tokens = _pair_outputs(tokens, text, lines)
    tokens = _mask_phrases(tokens, rubric.ignore)
    tokens, restated = _mask_restatements(tokens, question.prompt_markdown)
    prose = "\n".join(
        text[max(start, cut) : end] for start, end, is_code in lines if not is_code and end > cut
    )
    return Reading(text, tokens, cut > 0, restated, prose)


def soft_retractions(text: str) -> list[int]:
    """Return where each "Actually, ..." sentence begins, the places a correction may start."""
    return [m.end() for m in SOFT_RETRACTION_RE.finditer(text)]


def _last_retraction(text: str) -> int:
    found = list(RETRACTION_RE.finditer(text))
    return found[-1].end() if found else 0


def _lines(text: str) -> list[tuple[int, int, bool]]:
    """Return each line's span and whether it is code or printed output."""
    lines: list[tuple[int, int, bool]] = []
    offset = 0
    fenced = session = False
    for line in text.split("\n"):
        end = offset + len(line)
        if _FENCE_RE.match(line):
            fenced = not fenced
            lines.append((offset, end, True))
        else:
            # What follows a ">>> " prompt, up to a blank line, is what it printed.
            session = bool(line.strip()) and (session or line.lstrip().startswith(">>>"))
            code = fenced or session or bool(_CODE_LINE_RE.match(line))
            lines.append((offset, end, code))
        offset = end + 1
    return lines


_CALL_RE = re.compile(r"^\s*(?:>>>|In \[\d*\]:|print\()")
_OUTPUT_RE = re.compile(r"^\s*(?:<?tf\.Tensor\b|Out\[\d*\]:|array\(|<tf\.Variable\b)")


def _pair_outputs(
    tokens: list[Token], text: str, lines: Sequence[tuple[int, int, bool]]
) -> list[Token]:
    """Read each printed output as part of the call that printed it.

    ``print(tf.range(10))`` then, lines later, ``tf.Tensor([...], dtype=int32)``: the
    k-th output belongs to the k-th call still waiting for one, as in a notebook. Its
    dtype and shape then stand right after the call, in the call's clause, so "range ...
    int32" reads the pair as one statement; the printed numbers are left out.
    """
    calls: list[int] = []
    owner: dict[int, int] = {}
    prompt: int | None = None
    for number, (start, end, is_code) in enumerate(lines):
        line = text[start:end]
        if not is_code or not line.strip():
            prompt = None
            continue
        if line.lstrip().startswith(">>>"):
            prompt = number
        elif prompt is not None:
            owner[number] = prompt
        elif _OUTPUT_RE.match(line) and calls:
            owner[number] = calls.pop(0)
        elif _CALL_RE.match(line):
            calls.append(number)
    if not owner:
        return tokens
    starts = [start for start, _, _ in lines]
    by_line: dict[int, list[Token]] = {}
    for token in tokens:
        by_line.setdefault(bisect_right(starts, token.start) - 1, []).append(token)
    ordered: list[Token] = []
    for number in sorted(by_line):
        if number in owner:
            continue
        ordered.extend(by_line[number])
        for output in (n for n, call in owner.items() if call == number and n in by_line):
            last = by_line[number][-1]
            ordered.extend(
                replace(
                    t,
                    clause=last.clause,
                    soft_clause=last.soft_clause,
                    scope=last.scope,
                    statement=last.statement,
                )
                for t in by_line[output]
                if not t.text.isdigit()
            )
    return ordered


_ASKED = re.compile(r"\?+(?=\s|$)")


def _questions(text: str) -> list[tuple[int, int]]:
    """Return the spans of the sentences that ask rather than state ("Is tf.range int32?")."""
    ends = [m.end() for m in HARD_BREAK_RE.finditer(text)]
    spans: list[tuple[int, int]] = []
    for mark in _ASKED.finditer(text):
        start = max((end for end in ends if end <= mark.start()), default=0)
        spans.append((start, mark.end()))
    return spans


def _flag(token: Token, code: bool, skip: bool) -> Token:
    # Most words are neither: copying each token would cost a long answer ~10 ms.
    return replace(token, code=code, skip=skip) if code or skip else token


def _inside(position: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Tell whether a position falls in one of the sorted, disjoint spans."""
    at = bisect_right(spans, (position, len(spans) and spans[-1][1] + 1)) - 1
    return at >= 0 and spans[at][0] <= position < spans[at][1]


@lru_cache(maxsize=256)
def word_grams(text: str, size: int) -> frozenset[tuple[str, ...]]:
    """Return the runs of ``size`` word stems in a text (a question, a reference answer).

    Cached: the same few texts are compared with every answer.
    """
    stems = [t.stem for t in tokenize(text)]
    return frozenset(tuple(stems[i : i + size]) for i in range(len(stems) - size + 1))


def _mask_phrases(tokens: list[Token], phrases: Sequence[str]) -> list[Token]:
    """Skip the words of phrases that use a rubric word in another sense."""
    hidden: set[int] = set()
    for phrase in phrases:
        for match in find_matches(compile_pattern(phrase), tokens):
            hidden.update(range(match.first, match.last + 1))
    return [replace(t, skip=True) if i in hidden else t for i, t in enumerate(tokens)]


def _mask_restatements(tokens: list[Token], prompt: str) -> tuple[list[Token], float]:
    """Skip clauses copied from the question; return the share of words that were."""
    grams = word_grams(prompt, RESTATED_NGRAM)
    covered = [False] * len(tokens)
    stems = [t.stem for t in tokens]
    for i in range(len(tokens) - RESTATED_NGRAM + 1):
        if tuple(stems[i : i + RESTATED_NGRAM]) in grams:
            for k in range(i, i + RESTATED_NGRAM):
                covered[k] = True
    clauses: dict[int, list[int]] = {}
    for i, token in enumerate(tokens):
        clauses.setdefault(token.soft_clause, []).append(i)
    restated: set[int] = set()
    for members in clauses.values():
        share = sum(covered[i] for i in members) / len(members)
        if len(members) >= RESTATED_MIN_WORDS and share >= RESTATED_SHARE:
            restated.update(members)
    live = [i for i, t in enumerate(tokens) if not t.skip]
    share = sum(1 for i in live if i in restated) / len(live) if live else 0.0
    masked = [replace(t, skip=True) if i in restated else t for i, t in enumerate(tokens)]
    return masked, share
