"""Learners' sign-in codes: a few common words, easy to read aloud, stored only as a hash.

The words are the EFF long list (7,776 words chosen to be easy to type and tell apart),
as the maintained ``xkcdpass`` package ships it; the four words with a hyphen are left
out so that a hyphen can join the words in a link. Four words of 7,772 give
4 x log2(7772) = 51.7 bits, and each guess costs an argon2 verification and a count in a
per-name and a per-address limit.
"""

from __future__ import annotations

import math
import re
import secrets
from functools import lru_cache
from importlib import resources

from app.passwords import hash_password, verify_password
from app.validation import InvalidText

CODE_WORDS = 4
MAX_CODE_CHARS = 200
_SEPARATORS = re.compile(r"[^a-z]+")


@lru_cache(maxsize=1)
def words() -> tuple[str, ...]:
    """Return the word list, read once from the package that ships it."""
    text = resources.files("xkcdpass").joinpath("static/eff-long").read_text("utf-8")
    return tuple(sorted({w for w in text.split() if w.isalpha() and w.isascii()}))


def code_bits() -> float:
    """Return the strength of a code in bits, for the docs and a test that holds it."""
    return CODE_WORDS * math.log2(len(words()))


def new_code() -> str:
    """Return a fresh code: words from the list, chosen by the system's secure random source."""
    return "-".join(secrets.choice(words()) for _ in range(CODE_WORDS))


def clean_code(code: str) -> str:
    """Return the code as stored, whatever spaces, case or punctuation it was typed with."""
    if len(code) > MAX_CODE_CHARS:
        raise InvalidText("That sign-in code is too long: it is four words.")
    cleaned = "-".join(w for w in _SEPARATORS.split(code.lower()) if w)
    if not cleaned:
        raise InvalidText("Please enter your sign-in code (four words).")
    return cleaned


def hash_code(code: str) -> str:
    """Hash a code for storage (argon2id, as instructors' passwords)."""
    return hash_password(clean_code(code))


def verify_code(stored_hash: str | None, code: str) -> bool:
    """Tell whether the code matches; a learner without a code costs the same time."""
    return verify_password(stored_hash, clean_code(code))
