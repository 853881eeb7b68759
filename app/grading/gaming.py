"""Spot answers built to fool a phrase matcher rather than to answer the question.

Each test here gives a careful instructor's reading of a pattern seen in practice: rubric
terms glued by function words, a bare list where reasons were asked, every term padded
into a long text, the reference answer pasted back, "no idea".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.grading.reading import word_grams
from app.tokens import TOKEN_RE, Token, stem_word

# Words that glue a sentence together; an answer almost without them is a bare list of terms.
FUNCTION_WORDS = frozenset(
    (
        "a", "an", "the", "this", "that", "these", "those", "it", "its", "they", "them", "their",
        "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "do", "does",
        "did", "can", "could", "will", "would", "should", "must", "may", "might", "of", "to", "in",
        "into", "for", "with", "by", "on", "at", "from", "as", "and", "or", "so", "because",
        "since", "than", "then", "when", "which", "who", "what", "if", "also", "only", "gives",
        "give", "returns", "return", "uses", "use", "used", "makes", "make", "lets", "allows",
        "means", "need", "needs", "where", "while", "whereas", "but", "not", "no",
    )
)  # fmt: skip
# Prose of at least this many words is a bare list when fewer than this share of its items
# explain anything.
KEYWORD_LIST_MIN_WORDS = 3
KEYWORD_LIST_SHARE = 1 / 3
_ITEM_BREAK = re.compile(r"[,;\n\u3001\uff0c]+")
_RELATION = re.compile(r"->|=>|\u2192|=|:|\(|\+|\bvs\b|\bvia\b|\bversus\b", re.IGNORECASE)
# Words that predicate one term of another: "the GPU *is the* numpy *of the* graph".
LINK_WORDS = frozenset({"is", "are", "was", "were", "be", "of", "across", "becomes", "means"})
GLUE_WORDS = FUNCTION_WORDS | LINK_WORDS | {"across", "over", "onto", "via", "per"}
MAX_LINK_GAP = 3
SALAD_LINKS = 4
SALAD_COPULAS = 2
COPULAS = frozenset({"is", "are", "was", "were", "be", "becomes", "means"})
# Or a sentence where most words belong to phrases of this many different key points.
SALAD_POINTS = 5
SALAD_TERM_SHARE = 0.6
# An answer this much longer than the reference answer is padded: credit then comes from
# its best sentences, up to the budget.
PADDING_FACTOR = 3.0
PADDING_MIN_WORDS = 250
# A padded answer's score is provisional and at most this until an instructor reads it.
PADDED_CAP = 0.3
BUDGET_FACTOR = 1.5
BUDGET_MIN_WORDS = 120
# A copy shares most of its word 5-grams with the reference answer or the key points.
COPY_NGRAM = 5
COPY_SHARE = 0.5
COPY_MIN_WORDS = 15
NO_ANSWER_RE = re.compile(
    r"^\W*(?:i\s+(?:do\s*n[o']?t|dont)\s+know|i\s+have\s+no\s+(?:idea|clue)|no\s+(?:idea|clue)"
    r"|idk|dunno|not\s+sure|pass|skip|n/?a|none|nothing|no\s+answer|\?+|-+|\.+|test|asdf\w*"
    r"|i\s+(?:give|gave)\s+up|no\s+comment)\W*(?:sorry\W*)?$",
    re.IGNORECASE,
)


def is_keyword_list(prose: str) -> bool:
    """Tell whether prose is a bare list of terms rather than explanation.

    The prose is cut into items at commas, semicolons and line breaks; an item explains
    when it has a function word or a relation written as a symbol ("int32 -> tf.range",
    "autodiff via GradientTape", "Others: PyTorch"). Terse notes explain; "numpy, GPU,
    autodiff, PyTorch" does not.
    """
    items = [TOKEN_RE.findall(item) for item in _ITEM_BREAK.split(prose)]
    items = [words for words in items if words]
    if sum(len(words) for words in items) < KEYWORD_LIST_MIN_WORDS:
        return False
    pieces = [piece for piece in _ITEM_BREAK.split(prose) if TOKEN_RE.search(piece)]
    explaining = sum(
        1
        for piece, words in zip(pieces, items, strict=True)
        if _RELATION.search(piece) or any(w.lower() in FUNCTION_WORDS for w in words)
    )
    return explaining / len(items) < KEYWORD_LIST_SHARE


def is_no_answer(text: str) -> bool:
    """Tell whether an answer only says that the learner does not know."""
    return bool(NO_ANSWER_RE.match(text.strip()))


def salad_sentences(
    tokens: Sequence[Token], terms: dict[int, str], vocabulary: frozenset[str]
) -> set[int]:
    """Return the sentences (clause ids) that string rubric terms together.

    ``terms`` maps a token index to the key point whose matched phrase it belongs to;
    ``vocabulary`` holds the stems of every rubric phrase. Two patterns give a salad away:
    rubric words predicated of one another again and again ("the GPU is the numpy of the
    graph, so autodiff is distributed"), and a stretch between commas made mostly of the
    phrases of four or more key points.
    """
    salad: set[int] = set()
    members: dict[int, list[int]] = {}
    for i in range(len(tokens)):
        members.setdefault(_sentence(tokens, i), []).append(i)
    for sentence, indices in members.items():
        links, copulas = _links(tokens, indices, vocabulary)
        if links >= SALAD_LINKS and copulas >= SALAD_COPULAS:
            salad.add(sentence)
            continue
        hits = [i for i in indices if i in terms]
        by_stretch: dict[int, set[str]] = {}
        for i in hits:
            by_stretch.setdefault(tokens[i].soft_clause, set()).add(terms[i])
        crowded = max((len(points) for points in by_stretch.values()), default=0)
        if crowded >= SALAD_POINTS and len(hits) / len(indices) >= SALAD_TERM_SHARE:
            salad.add(sentence)
    return salad


def _links(
    tokens: Sequence[Token], indices: Sequence[int], vocabulary: frozenset[str]
) -> tuple[int, int]:
    """Count "TERM is (the) TERM" and "TERM of (the) TERM" links, and how many use "is"."""
    words = [i for i in indices if not tokens[i].skip]
    links = copulas = 0
    for position, index in enumerate(words):
        if tokens[index].stem not in vocabulary or tokens[index].text.lower() in GLUE_WORDS:
            continue
        between: list[str] = []
        for after in words[position + 1 : position + 2 + MAX_LINK_GAP]:
            word = tokens[after].text.lower()
            if word in GLUE_WORDS:
                between.append(word)
                continue
            if tokens[after].stem in vocabulary and LINK_WORDS & set(between):
                links += 1
                copulas += bool(COPULAS & set(between))
            break
    return links, copulas


def _sentence(tokens: Sequence[Token], index: int) -> int:
    # Clause ids also split at "but" and "whereas": fine-grained enough for a sentence here.
    return tokens[index].clause


def is_padded(word_count: int, reference_words: int) -> bool:
    """Tell whether an answer is far longer than a complete answer needs to be."""
    return word_count > max(PADDING_MIN_WORDS, PADDING_FACTOR * reference_words)


def word_budget(reference_words: int) -> int:
    """Return how many words of a padded answer's best sentences earn credit."""
    return int(max(BUDGET_MIN_WORDS, BUDGET_FACTOR * reference_words))


def copy_share(text: str, sources: Sequence[str]) -> float:
    """Return the share of the answer's word 5-grams found in the sources."""
    words = [stem_word(w) for w in TOKEN_RE.findall(text)]
    if len(words) < COPY_MIN_WORDS:
        return 0.0
    known = [word_grams(source, COPY_NGRAM) for source in sources]
    grams = [tuple(words[i : i + COPY_NGRAM]) for i in range(len(words) - COPY_NGRAM + 1)]
    return sum(1 for g in grams if any(g in k for k in known)) / len(grams)
