"""Learners: create them with a sign-in code, let them back in with it, and their sessions.

A name is not proof: a classmate knows it. A returning learner gives their name and the
code they were shown once; a browser keeps a server-side session, which "Leave" or an
instructor ends. Names that look alike (an invisible character, a Cyrillic letter) are
one name, held apart by unique skeletons in ``learner_identity``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import Settings
from app.instructors import SESSION_TOKEN_BYTES, digest
from app.models import Learner, LearnerIdentity, LearnerSession, utc_now
from app.ratelimit import Bucket
from app.validation import MAX_NAME_CHARS, InvalidText, clean_email, clean_name, name_key
from app.validation import name_shape as shape_of

MAX_SKELETON_CHARS = 400  # the column's size; an 80-character name comes nowhere near


class NameTaken(InvalidText):
    """Raised when a new learner asks for a name that is, or looks like, another's."""


def get_learner(session: Session, learner_id: int) -> Learner | None:
    """Return the learner with this id, if any."""
    return session.get(Learner, learner_id)


def find_by_name(session: Session, name: str) -> Learner | None:
    """Return the learner known by this name (ignoring case), if any."""
    return session.scalars(select(Learner).where(Learner.name_key == name_key(name))).first()


def create_learner(
    session: Session, name: str, email: str | None, code_hash: str | None
) -> Learner:
    """Create a learner with the hash of their new sign-in code (made outside the lock).

    ``code_hash`` is None for one listed on a roster or made for an LMS: they have no code
    until an instructor issues one.

    Raise NameTaken when the name is another learner's or looks like it, InvalidText for
    a bad name or email. The email is contact data only: it proves nothing.
    """
    name = clean_name(name)
    key = name_key(name)
    # NFKC spells some characters out (U+FDFA is 18 letters): a name that fits may not.
    if len(key) > MAX_NAME_CHARS:
        raise InvalidText(
            f"The name is too long once its special characters are spelt out ({len(key)} "
            f"characters); use at most {MAX_NAME_CHARS}, or plainer letters."
        )
    email = clean_email(email)
    shape = shape_of(name)
    if max(len(shape.folded), len(shape.cased)) > MAX_SKELETON_CHARS:
        raise InvalidText("The name has too many unusual characters; use plainer letters.")
    _refuse_taken(session, name, shape.folded, shape.cased)
    learner = Learner(display_name=name, name_key=key, email=email)
    try:
        with session.begin_nested():  # a racing sign-up with a look-alike name: refused
            session.add(learner)
            session.flush()
            session.add(
                LearnerIdentity(
                    learner_id=learner.id,
                    skeleton=shape.folded,
                    cased_skeleton=shape.cased,
                    code_hash=code_hash,
                    code_issued_at=utc_now(),
                )
            )
            session.flush()
    except IntegrityError:
        raise NameTaken(_taken_message(name)) from None
    return learner


def _refuse_taken(session: Session, name: str, folded: str, cased: str) -> None:
    if find_by_name(session, name) is not None:
        raise NameTaken(_taken_message(name))
    twin = session.scalars(
        select(Learner)
        .join(LearnerIdentity, LearnerIdentity.learner_id == Learner.id)
        .where(or_(LearnerIdentity.skeleton == folded, LearnerIdentity.cased_skeleton == cased))
    ).first()
    if twin is not None:
        raise NameTaken(
            f"The name “{name}” looks the same as another learner's (“{twin.display_name}”): "
            "it differs only in look-alike or invisible characters. Choose a name that "
            "reads differently (add an initial)."
        )


def _taken_message(name: str) -> str:
    return (
        f"The name “{name}” is already taken. If it is yours, continue with your sign-in "
        "code; otherwise choose another name (add an initial)."
    )


def identity_of(session: Session, learner_id: int) -> LearnerIdentity | None:
    """Return the learner's identity row (none for a learner made before migration 0010)."""
    return session.get(LearnerIdentity, learner_id)


def stored_code(session: Session, name: str) -> tuple[int | None, str | None]:
    """Return the learner id and code hash for a name (None, None when unknown)."""
    learner = find_by_name(session, name)
    if learner is None:
        return None, None
    identity = identity_of(session, learner.id)
    return learner.id, identity.code_hash if identity is not None else None


def signin_buckets(settings: Settings, name: str, address: str) -> tuple[Bucket, Bucket]:
    """Return the windows that count wrong codes per learner's name and per address."""
    window = timedelta(minutes=settings.signin_window_minutes)
    return (
        Bucket("signin-name", name_key(name), settings.signin_failures_per_name, window),
        Bucket("signin-address", address, settings.signin_failures_per_address, window),
    )


def issue_code(session: Session, learner: Learner, code_hash: str) -> None:
    """Give the learner a new code's hash (the old code stops working); end every session."""
    identity = identity_of(session, learner.id)
    if identity is None:
        shape = shape_of(learner.display_name)
        clash = session.scalars(
            select(LearnerIdentity.learner_id).where(
                or_(
                    LearnerIdentity.skeleton == shape.folded,
                    LearnerIdentity.cased_skeleton == shape.cased,
                )
            )
        ).first()
        identity = LearnerIdentity(learner_id=learner.id)
        if clash is None:
            identity.skeleton, identity.cased_skeleton = shape.folded, shape.cased
        session.add(identity)
    identity.code_hash = code_hash
    identity.code_issued_at = utc_now()
    end_all_sessions(session, learner.id)


def open_session(session: Session, learner_id: int) -> str:
    """Open a server-side session; return the raw token for the cookie."""
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    session.add(LearnerSession(id_hash=digest(token), learner_id=learner_id))
    return token


def resolve_session(session: Session, token: str, max_age: timedelta) -> Learner | None:
    """Return the learner of a live session, or None when unknown, ended or too old."""
    if len(token) > 200:
        return None
    row = session.get(LearnerSession, digest(token))
    if row is None or utc_now() - row.created_at > max_age:
        return None
    return get_learner(session, row.learner_id)


def end_session(session: Session, token: str) -> None:
    """End one session, so that its cookie, and any copy of it, no longer works."""
    session.execute(delete(LearnerSession).where(LearnerSession.id_hash == digest(token)))


def end_all_sessions(session: Session, learner_id: int) -> None:
    """End every session of a learner, on every device."""
    session.execute(delete(LearnerSession).where(LearnerSession.learner_id == learner_id))


# --- LTI (app/lti/accounts.py) and rosters (app/roster.py): learners made for them ------


def create_with_free_name(session: Session, name: str, email: str | None) -> Learner:
    """Create a learner under ``name``, or ``name (2)``, ``name (3)``…, whichever is free.

    A platform's user never takes over a learner who started under the same name: the
    platform vouches for its own users, not for the names typed here. They sign in
    through their platform, so they get no code (an instructor can issue one).
    """
    base = clean_name(name)[: MAX_NAME_CHARS - 8]
    for n in range(1, 10_000):
        candidate = base if n == 1 else f"{base} ({n})"
        if len(name_key(candidate)) > MAX_NAME_CHARS:
            break
        try:
            return create_learner(session, candidate, email, None)
        except NameTaken:
            continue
    raise InvalidText(f"No free name is left for “{base}”.")
