"""Check text that people type before it is graded or stored."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any, NamedTuple

from app.text import has_control, has_surrogate, normalize_newlines, size_problem

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME_CHARS = 80
MAX_EMAIL_CHARS = 254
# Joiners shape letters in Persian, Indic scripts and emoji; every other format character
# (zero-width space, bidi overrides, soft hyphen) only hides or reorders what a name shows.
_KEPT_FORMAT = frozenset("\u200c\u200d")


class InvalidText(ValueError):
    """Raised with a message fit to show the person who typed the text."""


def clean_answer(text: str, max_chars: int) -> str:
    """Return the answer with line endings normalised, or raise InvalidText saying why."""
    _refuse_unencodable(text, "answer")
    text = normalize_newlines(text)
    empty = "The answer is empty: write a few sentences before submitting."
    if problem := size_problem(text, max_chars, "answer", empty):
        raise InvalidText(problem)
    return text


def clean_name(name: str) -> str:
    """Return a display name with spaces tidied, or raise InvalidText saying why."""
    _refuse_unencodable(name, "name")
    name = _drop_invisible(unicodedata.normalize("NFC", name))
    name = " ".join(name.split())
    if not name:
        raise InvalidText("Please enter your name.")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidText(f"The name is too long; use at most {MAX_NAME_CHARS} characters.")
    return name


def name_key(name: str) -> str:
    """Return the form of a name under which two spellings count as the same learner."""
    return unicodedata.normalize("NFKC", name).casefold()


class NameShape(NamedTuple):
    """The Unicode confusable skeletons (UTS #39) of a name, as stored to keep names apart.

    ``folded`` ignores case ("bob" is "Bob"); ``cased`` keeps it, because the skeleton maps
    a capital I to l, which folding first would hide ("BiII" reads as "Bill").
    """

    folded: str
    cased: str


def name_shape(name: str) -> NameShape:
    """Return the skeletons under which two names that look alike are the same name."""
    checker = _spoof_checker()
    nfkc = unicodedata.normalize("NFKC", name)
    cased = checker.getSkeleton(0, nfkc)
    return NameShape(checker.getSkeleton(0, cased.casefold()).casefold(), cased)


@lru_cache(maxsize=1)
def _spoof_checker() -> Any:
    """Build ICU's spoof checker on first use (loading ICU's data takes a few ms)."""
    import icu  # PyICU: ICU's confusables data, kept current with Unicode

    return icu.SpoofChecker()


def _drop_invisible(text: str) -> str:
    return "".join(c for c in text if unicodedata.category(c) != "Cf" or c in _KEPT_FORMAT)


def clean_email(email: str | None) -> str | None:
    """Return a tidied email address, None when blank, or raise InvalidText."""
    if email is None or not email.strip():
        return None
    _refuse_unencodable(email, "email address")
    email = email.strip()
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email):
        raise InvalidText("That email address does not look valid.")
    return email


def _refuse_unencodable(text: str, what: str) -> None:
    if has_surrogate(text):
        raise InvalidText(f"The {what} contains an invalid character (a lone surrogate).")
    if has_control(text):
        raise InvalidText(f"The {what} contains control characters; remove them and retry.")
