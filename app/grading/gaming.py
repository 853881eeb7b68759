"""Spot answers built to fool a phrase matcher rather than to answer the question.

Each test here gives a careful instructor's reading of a pattern seen in practice: rubric
terms glued by function words, a bare list where reasons were asked, every term padded
into a long text, the reference answer pasted back, "no idea".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.matching import TOKEN_RE, Token, stem_word, tokenize

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
KEYWORD_LIST_RATIO = 0.1
KEYWORD_LIST_MIN_GLUE = 2
# Words that predicate one term of another: "the GPU *is the* numpy *of the* graph".
LINK_WORDS = frozenset({"is", "are", "was", "were", "be", "of", "across", "becomes", "means"})
GLUE_WORDS = FUNCTION_WORDS | LINK_WORDS | {"across", "over", "onto", "via", "per"}
MAX_LINK_GAP = 3
SALAD_LINKS = 3
SALAD_LINKS_WITH_NO_CONTENT = 2
# Or a sentence where most words belong to phrases of this many different key points.
SALAD_POINTS = 4
SALAD_TERM_SHARE = 0.5
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


def is_keyword_list(tokens: Sequence[Token]) -> bool:
    """Tell whether prose is a bare list of terms rather than explanation."""
    if len(tokens) < 3:
        return False
    glue = sum(1 for token in tokens if token.text.lower() in FUNCTION_WORDS)
    return glue < KEYWORD_LIST_MIN_GLUE or glue / len(tokens) < KEYWORD_LIST_RATIO


def is_no_answer(text: str) -> bool:
    """Tell whether an answer only says that the learner does not know."""
    return bool(NO_ANSWER_RE.match(text.strip()))


def salad_sentences(tokens: Sequence[Token], terms: dict[int, str]) -> set[int]:
    """Return the sentences (clause ids) that string rubric terms together by "is" and "of".

    ``terms`` maps a token index to the key point whose phrase it belongs to. A sentence
    where one point's term is predicated of another's ("autodiff is distributed", "the GPU
    is the numpy of the graph") again and again says nothing a person would credit.
    """
    salad: set[int] = set()
    by_sentence: dict[int, list[int]] = {}
    for index in sorted(terms):
        by_sentence.setdefault(_sentence(tokens, index), []).append(index)
    sizes: dict[int, list[int]] = {}
    for i in range(len(tokens)):
        sizes.setdefault(_sentence(tokens, i), []).append(i)
    for sentence, indices in by_sentence.items():
        members = sizes[sentence]
        # Within one comma-free stretch: "sparse tensors, ragged tensors, ..." is a list.
        by_stretch: dict[int, set[str]] = {}
        for i in indices:
            by_stretch.setdefault(tokens[i].soft_clause, set()).add(terms[i])
        crowded = max(len(points) for points in by_stretch.values())
        if crowded >= SALAD_POINTS and len(indices) / len(members) >= SALAD_TERM_SHARE:
            salad.add(sentence)
            continue
        links = 0
        for left, right in zip(indices, indices[1:], strict=False):
            if terms[left] == terms[right] or right - left - 1 > MAX_LINK_GAP:
                continue
            between = [tokens[i].text.lower() for i in range(left + 1, right)]
            if between and all(w in GLUE_WORDS for w in between) and LINK_WORDS & set(between):
                links += 1
        content = [
            i for i in members if i not in terms and tokens[i].text.lower() not in GLUE_WORDS
        ]
        if links >= SALAD_LINKS or (links >= SALAD_LINKS_WITH_NO_CONTENT and len(content) <= 1):
            salad.add(sentence)
    return salad


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
    known: set[tuple[str, ...]] = set()
    for source in sources:
        stems = [t.stem for t in tokenize(source)]
        known.update(tuple(stems[i : i + COPY_NGRAM]) for i in range(len(stems) - COPY_NGRAM + 1))
    grams = [tuple(words[i : i + COPY_NGRAM]) for i in range(len(words) - COPY_NGRAM + 1)]
    return sum(1 for g in grams if g in known) / len(grams)
