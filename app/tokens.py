"""Words of an answer, each tagged with its sentence, clause and negation scope.

Words are compared by their English stem, so "differentiates" reads as "differentiation";
"the former" and "the latter" become the words they stand for; names (FastAPI, int32) are
marked to match exactly, as are dictionary words, which a typo never turns into another.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import snowballstemmer

# Underscores separate words, so `get_config` and "get config" read alike.
TOKEN_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?", re.UNICODE)
# Sentence ends close a clause: neither a gap nor a negation reaches past one.
HARD_BREAK_RE = re.compile(r"[.!?;\u3002\uff01\uff1f]+(?:\s|$)|\n")
# A comma or a colon ends a negation's reach but not a gap: "ragged tensors: rows of
# different lengths" still links the name to its description.
SOFT_BREAK_CHARS = ",:()\u2014\u2013\uff0c\uff1a"
# A spaced hyphen works as a dash: "layers - the components - and ...".
_SOFT_BREAK_RE = re.compile(f"[{re.escape(SOFT_BREAK_CHARS)}]| - ")
CONTRAST_WORDS = frozenset(
    {"but", "whereas", "while", "whilst", "however", "although", "though", "unlike", "where"}
)
# Words that open a new statement inside a sentence: a negation before them does not
# govern what follows ("it is not NumPy because it runs on GPUs").
SCOPE_WORDS = frozenset(
    {
        "because",
        "since",
        "so",
        "therefore",
        "thus",
        "hence",
        "which",
        "who",
        "when",
        "if",
        "unless",
        "then",
        "instead",
        "otherwise",
        "rather",
    }
)
# "avoid" and "lack" flip a statement too: "don't avoid side effects" asserts nothing.
# Words after which a sentence gives a reason or a consequence, a statement of its own;
# "when" and "if" stay inside: "a function when the loss is simple" is one statement.
REASON_WORDS = frozenset({"because", "since", "so", "therefore", "thus", "hence"})
NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "nor",
        "neither",
        "none",
        "cannot",
        "nothing",
        "without",
        "nt",
        "avoid",
        "avoids",
        "avoiding",
        "lack",
        "lacks",
        "lacking",
        "refrain",
    }
)
# Names that must match exactly: a typo of one is never another ("FastAPI" is not fastai).
IDENTIFIERS = frozenset(
    {
        "fastai",
        "fastapi",
        "jax",
        "flax",
        "keras",
        "pytorch",
        "torch",
        "mxnet",
        "theano",
        "caffe",
        "chainer",
        "numpy",
        "scipy",
        "pandas",
        "sklearn",
        "tensorflow",
        "tensorrt",
        "lasagne",
        "paddle",
        "sonnet",
        "trax",
        "onnx",
        "unroll",
        "unrolled",
        "python",
        "cython",
    }
)
_stemmer = snowballstemmer.stemmer("english")

# A predicate telling whether a lower-case word is an ordinary dictionary word, which then
# must match exactly; set by the grader (it loads the dictionary lazily).
KnownWord = Callable[[str], bool]


def _no_dictionary(_word: str) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Token:
    """One word of an answer with its place in the text and its clause."""

    text: str
    stem: str
    start: int
    end: int
    clause: int
    soft_clause: int
    negator: bool
    scope: int = 0
    exact: bool = False
    skip: bool = False
    code: bool = False
    # A clause cut where a new statement opens ("because", "which"), not at commas: a
    # phrase's gap never reaches from one statement into the next.
    statement: int = 0


@lru_cache(maxsize=65536)
def stem_word(word: str) -> str:
    """Return the lower-case English stem of one word."""
    return str(_stemmer.stemWord(word.lower()))


def is_negator(word: str) -> bool:
    """Tell whether a word negates what follows it."""
    lower = word.lower().replace("\u2019", "'")
    return lower in NEGATORS or lower.endswith("n't")


def _is_exact(word: str, known: KnownWord) -> bool:
    """Tell whether a word of the answer must match exactly: a name or a real word."""
    lower = word.lower()
    if lower in IDENTIFIERS or not word.isalpha():
        return True
    # Mixed case inside a word marks a name (FastAPI, PyTorch, GradientTape).
    if any(c.isupper() for c in word[1:]):
        return True
    return known(lower)


def tokenize(
    text: str,
    known: KnownWord = _no_dictionary,
    referents: Mapping[str, Sequence[str]] | None = None,
) -> list[Token]:
    """Split text into words, each tagged with its clause for gap and negation scope.

    ``referents`` maps "former"/"latter" (and "first"/"second") to the words they stand
    for; such a word becomes those words, spanning the original word in the text.
    """
    breaks = [m.start() for m in HARD_BREAK_RE.finditer(text)]
    tokens: list[Token] = []
    clause = soft = scope = statement = 0
    next_break = 0
    last_end = 0
    for m in TOKEN_RE.finditer(text):
        clause_before = clause
        while next_break < len(breaks) and breaks[next_break] < m.start():
            next_break += 1
            clause += 1
        word = m.group()
        lower = word.lower()
        if lower in CONTRAST_WORDS:
            clause += 1
        between = text[last_end : m.start()]
        if clause != clause_before:
            statement += 1
        if clause != clause_before or (between and _SOFT_BREAK_RE.search(between)):
            soft += 1
            scope += 1
        elif lower in SCOPE_WORDS:
            scope += 1
        if lower in REASON_WORDS and clause == clause_before:
            statement += 1
        tokens.append(
            Token(
                word,
                stem_word(word),
                m.start(),
                m.end(),
                clause,
                soft,
                is_negator(word),
                scope,
                _is_exact(word, known),
                statement=statement,
            )
        )
        last_end = m.end()
    if referents:
        tokens = _resolve_referents(tokens, referents)
    return tokens


# "the first" and "the second" refer to the question's two things only when a statement
# follows them ("the first holds int32"), not in "the first call".
_ORDINAL_FOLLOWERS = frozenset(
    {
        "one",
        "is",
        "are",
        "was",
        "has",
        "have",
        "holds",
        "gives",
        "returns",
        "uses",
        "creates",
        "makes",
        "produces",
        "yields",
        "keeps",
        "outputs",
        "stores",
        "contains",
        "defaults",
        "infers",
        "should",
        "would",
        "can",
        "will",
        "option",
        "approach",
        "case",
    }
)


def _resolve_referents(tokens: list[Token], referents: Mapping[str, Sequence[str]]) -> list[Token]:
    """Replace "the former"/"the latter" by the words of what they point at."""
    out: list[Token] = []
    for index, token in enumerate(tokens):
        lower = token.text.lower()
        key = {"former": "first", "latter": "second"}.get(lower)
        if key is None and lower in ("first", "second") and index > 0:
            before = tokens[index - 1]
            after = tokens[index + 1] if index + 1 < len(tokens) else None
            ends_clause = after is None or after.soft_clause != token.soft_clause
            if (
                before.text.lower() == "the"
                and before.clause == token.clause
                and (
                    ends_clause or (after is not None and after.text.lower() in _ORDINAL_FOLLOWERS)
                )
            ):
                key = lower
        words = referents.get(key) if key else None
        if not words:
            out.append(token)
            continue
        for word in words:
            out.append(replace(token, text=word, stem=stem_word(word), exact=True))
    return out
