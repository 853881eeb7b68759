"""Which language an answer is written in, and which words are ordinary English words.

Both models ship inside their packages (py3langid's naive Bayes model, pyspellchecker's
English word list) and load on first use, never at import time.
"""

from __future__ import annotations

import gc
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

ENGLISH = "en"
# The languages a learner of this course plausibly writes in; a closed set keeps short
# English answers from being read as a language nobody here writes.
CANDIDATES = (
    "en", "fr", "de", "es", "it", "pt", "nl", "sv", "da", "no", "pl", "cs", "ru", "uk",
    "tr", "ar", "fa", "hi", "zh", "ja", "ko", "vi", "id",
)  # fmt: skip
# The identifier alone is trusted above MIN_PROBABILITY; below it, an answer is read as
# another language only when few of its words are English words too: code, names and
# terms often look like nothing in particular.
MIN_PROBABILITY = 0.9
WEAK_PROBABILITY = 0.3
ENGLISH_SHARE = 0.7
CLEARLY_ENGLISH = 0.9
FOREIGN_SHARE = 0.45
MIN_LETTERS = 12
MIN_WORDS = 5
# Han, kana and hangul.
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WORD = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    import py3langid
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(
        Path(py3langid.__file__).parent / MODEL_FILE, norm_probs=True
    )
    identifier.set_languages(list(CANDIDATES))
    return identifier


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language="en").word_frequency.dictionary)


def is_english_word(word: str) -> bool:
    """Tell whether a lower-case word is in the English dictionary."""
    return word in _english_words()


def detect_language(prose: str, terms: frozenset[str] = frozenset()) -> str:
    """Return the ISO 639-1 code of the language of some prose, "en" when unsure.

    ``terms`` are the subject's own words (tf.range, dtype): they say nothing of the
    language around them, so an answer made of them alone is taken as English.
    """
    words = [w for w in _WORD.findall(prose) if w.lower() not in terms]
    if len(words) < MIN_WORDS:
        return ENGLISH
    letters = sum(1 for c in prose if c.isalpha())
    if letters < MIN_LETTERS:
        return ENGLISH
    share = sum(1 for w in words if is_english_word(w.lower())) / len(words)
    # Most answers are plainly English: the identifier, whose model holds about 90 MB once
    # loaded, is asked only about the others, so most web processes never load it.
    if share >= CLEARLY_ENGLISH:
        return ENGLISH
    if len(_CJK.findall(prose)) / letters > 0.3:
        language, _ = _identifier().classify(prose)
        return str(language) if language in ("zh", "ja", "ko") else "zh"
    language, probability = _identifier().classify(prose)
    if language == ENGLISH:
        return ENGLISH
    if probability >= MIN_PROBABILITY:
        return str(language)
    if share < FOREIGN_SHARE or (share < ENGLISH_SHARE and probability >= WEAK_PROBABILITY):
        return str(language)
    return ENGLISH


def warm(freeze: bool = False) -> None:
    """Load the word list now, so the first learner to answer does not wait for it.

    ``freeze`` then moves every object alive so far out of the garbage collector's reach
    (gc.freeze): a server's word list, questions and caches never die, and each
    full collection walked them all. bench/grading.py measured the worst 10,000-character
    answer at 118 ms without it and 51 ms with it.
    """
    _english_words()
    if freeze:
        _freeze_once()


@lru_cache(maxsize=1)
def _freeze_once() -> None:
    # Once per process: what a second call would freeze is mostly the first's garbage.
    gc.freeze()
