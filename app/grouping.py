"""Group low-scoring answers by the phrases they share that the rubric did not match.

When several learners write "eager execution" and none earns credit for it, the rubric
probably lacks a phrasing, or the class shares a misconception: either way an instructor
wants to read those answers together. A phrase is a pair of neighbouring content words,
compared by stem, taken from outside the spans the grader matched and not merely restating
the question.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.tokens import stem_word

WORD_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*", re.UNICODE)
# A phrase never spans a sentence or a clause ("int32. Eager" is not a pair), but a dot
# inside a name does not end one: "tf.function" is the pair "tf function".
CLAUSE_BREAK_RE = re.compile(r"[.!?;:](?=\s|$)|[,()\[\]\n]|\s[-\u2013\u2014]\s")
# Words that carry no content of their own; two content words around one still pair up.
# (A block of words reads and edits more easily than 180 quoted strings.)
STOP_WORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before
    being between both but by can could did do does doing done each either else etc even
    ever every few for from further get gets got had has have having he her here hers him
    his how however i if in into is it its itself just let lets like made make makes many
    may me might more most much must my need needs neither no nor not now of off often on
    once one only or other our out over own per quite rather really same say says see she
    should since so some such than that the their them then there these they this those
    though through thus to too under until up upon us use used uses using very via was we
    well were what when where whereas whether which while who whom whose why will with
    within without would yes yet you your""".split()  # noqa: SIM905
)
MIN_GROUP = 2
MAX_GROUPS = 20


@dataclass(frozen=True, slots=True)
class LowAnswer:
    """An answer to group: its attempt, its text, and the spans the grader matched."""

    attempt_id: int
    text: str
    matched: Sequence[tuple[int, int]] = ()


@dataclass(frozen=True, slots=True)
class AnswerGroup:
    """Answers that share an unmatched phrase, with the phrase as most of them wrote it."""

    phrase: str
    also: tuple[str, ...]  # other phrases every answer of the group shares
    attempt_ids: tuple[int, ...]

    @property
    def size(self) -> int:
        """Return how many answers the group holds."""
        return len(self.attempt_ids)


@dataclass(frozen=True, slots=True)
class _Word:
    stem: str
    surface: str
    start: int
    end: int


def content_words(text: str) -> list[list[_Word]]:
    """Return the content words of each clause of a text, stemmed, in order."""
    breaks = [m.start() for m in CLAUSE_BREAK_RE.finditer(text)]
    clauses: list[list[_Word]] = [[]]
    passed = 0
    for m in WORD_RE.finditer(text):
        before = passed
        while passed < len(breaks) and breaks[passed] < m.start():
            passed += 1
        if passed != before and clauses[-1]:
            clauses.append([])
        if _is_content(m.group()):
            word = m.group()
            clauses[-1].append(_Word(stem_word(word), word.lower(), m.start(), m.end()))
    return [clause for clause in clauses if clause]


def _is_content(word: str) -> bool:
    lower = word.lower().replace("\u2019", "'")
    return lower not in STOP_WORDS and not lower.endswith("n't") and not lower.isdigit()


def unmatched_phrases(
    text: str, matched: Iterable[tuple[int, int]], asked: frozenset[str]
) -> dict[str, str]:
    """Return the answer's unmatched phrases: stem pair -> the words as written."""
    spans = list(matched)

    def is_matched(word: _Word) -> bool:
        return any(word.start < end and start < word.end for start, end in spans)

    found: dict[str, str] = {}
    for clause in content_words(text):
        for first, second in zip(clause, clause[1:], strict=False):
            if first.stem == second.stem or is_matched(first) or is_matched(second):
                continue
            if first.stem in asked and second.stem in asked:
                continue  # restates the question
            found.setdefault(f"{first.stem} {second.stem}", f"{first.surface} {second.surface}")
    return found


def prompt_stems(prompt: str) -> frozenset[str]:
    """Return the stems of the question's content words."""
    return frozenset(w.stem for clause in content_words(prompt) for w in clause)


def group_answers(
    answers: Sequence[LowAnswer],
    prompt: str,
    min_size: int = MIN_GROUP,
    limit: int = MAX_GROUPS,
) -> list[AnswerGroup]:
    """Group answers by shared unmatched phrases, largest groups first.

    Phrases found in exactly the same answers make one group, named by the most common;
    a group whose answers another phrase also splits out stays, since it names a different
    gap in the rubric.
    """
    asked = prompt_stems(prompt)
    members: dict[str, list[int]] = {}
    spellings: dict[str, Counter[str]] = {}
    for answer in answers:
        for key, surface in unmatched_phrases(answer.text, answer.matched, asked).items():
            members.setdefault(key, []).append(answer.attempt_id)
            spellings.setdefault(key, Counter())[surface] += 1
    by_members: dict[tuple[int, ...], list[str]] = {}
    for key, found in members.items():
        if len(found) >= min_size:
            by_members.setdefault(tuple(sorted(found)), []).append(key)
    groups = []
    for ids, keys in by_members.items():
        names = sorted({spellings[k].most_common(1)[0][0] for k in keys})
        groups.append(AnswerGroup(phrase=names[0], also=tuple(names[1:]), attempt_ids=ids))
    groups.sort(key=lambda g: (-g.size, g.phrase))
    return groups[:limit]
