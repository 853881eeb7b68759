"""Sign a learner up or in, for the pages and the JSON API alike.

An argon2id hash or check of a code costs about 50 ms of CPU (more on a busy machine), so
it runs outside the write transaction: inside, a class signing in at once would hold the
write lock, and every answer behind it, for seconds. The limits are still counted in the
database: a guess is counted against its name before the check, and against its address
once it has failed, so a right code from a classroom's shared address never uses up that
address's allowance.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.classes import check_may_start
from app.config import Settings
from app.db import Database
from app.learners import (
    create_learner,
    end_session,
    get_learner,
    identity_of,
    issue_code,
    open_session,
    signin_buckets,
    stored_code,
)
from app.ratelimit import Bucket, check, forget, record
from app.signin_codes import clean_code, hash_code, new_code, verify_code
from app.validation import InvalidText, clean_name

TOO_MANY_STARTS = "Too many sign-ins from this address; try again in {seconds} s."
TOO_MANY_GUESSES = (
    "Too many wrong sign-in codes for this name or from this address; "
    "try again in {minutes} min, or ask your instructor for a new code."
)
WRONG_CODE = (
    "That name and sign-in code do not match. Check the four words (the order matters); "
    "if you have lost your code, ask your instructor for a new one."
)


@dataclass(frozen=True)
class SignedIn:
    """A learner with a session just opened; ``code`` only when it was made just now."""

    learner_id: int
    name: str
    token: str | None  # the session for this browser; None when it is not theirs
    code: str | None = None


def fresh_code() -> tuple[str, str]:
    """Return a new code and its hash, made outside any transaction."""
    code = new_code()
    return code, hash_code(code)


def sign_up(
    database: Database,
    settings: Settings,
    name: str,
    email: str | None,
    address: str,
    replacing: str | None,
    join_code: str | None = None,
) -> SignedIn:
    """Create a learner with a code and a session; ``replacing`` is the session it ends.

    The class mode decides who may start (``join_code``: what was typed; the API has
    none). Raise NameTaken, NotAllowed, InvalidText or RateLimited; a refusal stays
    counted per address, so guessing the class code costs what guessing names does.
    """
    code, code_hash = fresh_code()
    by_address = Bucket("start-address", address, settings.start_limit_per_address)
    problem: InvalidText | None = None
    with database.writing() as session:
        check(session, by_address, refusal=TOO_MANY_STARTS)
        try:
            check_may_start(session, name, join_code)
            learner = create_learner(session, name, email, code_hash)
        except InvalidText as error:
            problem = error  # committed with its count: a name refused as taken is a guess
        else:
            token = open_session(session, learner.id)
            if replacing is not None:
                end_session(session, replacing)  # this browser now belongs to someone new
            signed = SignedIn(learner.id, learner.display_name, token, code)
    if problem is not None:
        raise problem
    return signed


def sign_in(
    database: Database,
    settings: Settings,
    name: str,
    code: str,
    address: str,
    replacing: str | None,
) -> SignedIn | None:
    """Open a session for the learner whose name and code these are; None if they differ.

    Raise RateLimited once the name or the address has had too many wrong codes.
    """
    name, code = clean_name(name), clean_code(code)
    by_name, by_address = signin_buckets(settings, name, address)
    starts = Bucket("start-address", address, settings.start_limit_per_address)
    with database.writing() as session:
        check(session, starts, refusal=TOO_MANY_STARTS)
        check(session, by_address, refusal=TOO_MANY_GUESSES, count=False)
        check(session, by_name, refusal=TOO_MANY_GUESSES)  # counted before the check below
        learner_id, code_hash = stored_code(session, name)
    right = verify_code(code_hash, code) and learner_id is not None
    with database.writing() as session:
        if not right or learner_id is None:
            record(session, by_address)
            return None
        forget(session, by_name)  # the learner's own typos do not lock them out later
        learner = get_learner(session, learner_id)
        if learner is None:  # deleted meanwhile
            return None
        if replacing is not None:
            end_session(session, replacing)  # rotate: a token from before is never reused
        return SignedIn(learner.id, learner.display_name, open_session(session, learner.id))


def reissue(database: Database, learner_id: int, for_learner: bool = False) -> SignedIn | None:
    """Give a learner a new code, ending all their sessions; None if there is no such learner.

    ``for_learner``: the learner's own browser asks, with a cookie from before codes. Only
    a learner with no code yet gets one (None otherwise), and a session with it.
    """
    code, code_hash = fresh_code()
    with database.writing() as session:
        learner = get_learner(session, learner_id)
        if learner is None:
            return None
        identity = identity_of(session, learner_id)
        if for_learner and identity is not None and identity.code_hash is not None:
            return None
        issue_code(session, learner, code_hash)
        token = open_session(session, learner.id) if for_learner else None
        return SignedIn(learner.id, learner.display_name, token, code)
