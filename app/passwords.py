"""Password hashing with argon2id, and checks that keep guessing slow and uninformative."""

from __future__ import annotations

import os
import threading
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.validation import InvalidText

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
_hasher = PasswordHasher()
# Each hash or check takes 64 MiB for its few dozen milliseconds of CPU. A class signing in
# at once would otherwise run one per request thread (40), about 2.5 GiB at the peak, and
# no sooner, as the cores are the limit: one at a time per core (bench.signup_burst).
_hashing = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


@cache
def _dummy_hash() -> str:
    """Return a hash to verify against when the account does not exist, so both cases take
    the same time; made on first use, since hashing costs tens of milliseconds."""
    with _hashing:
        return _hasher.hash("no such account: this hash only spends the same time")


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    with _hashing:
        return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Tell whether the password matches; an absent account costs the same time."""
    against = stored_hash or _dummy_hash()
    try:
        with _hashing:
            return _hasher.verify(against, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Tell whether a hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


def check_new_password(password: str) -> str:
    """Return the password if it is acceptable, or raise InvalidText saying why."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidText(f"Use a password of at least {MIN_PASSWORD_CHARS} characters.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidText("That password is too long.")
    if "\x00" in password:
        raise InvalidText("The password contains a NUL character.")
    return password
