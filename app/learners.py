"""Learners: find, create and recognise them from their session cookie."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Learner
from app.validation import MAX_NAME_CHARS, InvalidText, clean_email, clean_name, name_key


class NameTaken(InvalidText):
    """Raised when a name belongs to another learner and nothing proves it is theirs."""


def get_learner(session: Session, learner_id: int) -> Learner | None:
    """Return the learner with this id, if any."""
    return session.get(Learner, learner_id)


def find_by_name(session: Session, name: str) -> Learner | None:
    """Return the learner known by this name (ignoring case), if any."""
    return session.scalars(select(Learner).where(Learner.name_key == name_key(name))).first()


def sign_in(
    session: Session, name: str, email: str | None, current_id: int | None
) -> tuple[Learner, bool]:
    """Return the learner for a name, creating one when new; the flag tells if created.

    An existing name is only handed to the browser that already holds it, or to someone
    who gives the same email address the learner registered with.
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
    learner = find_by_name(session, name)
    if learner is None:
        learner = Learner(display_name=name, name_key=key, email=email)
        session.add(learner)
        session.flush()
        return learner, True
    same_email = bool(email and learner.email and email.casefold() == learner.email.casefold())
    if learner.id == current_id or same_email:
        return learner, False
    raise NameTaken(
        f"The name “{learner.display_name}” is already taken. If it is yours, enter the email "
        "address you started with; otherwise choose another name (add an initial)."
    )


# --- LTI (app/lti/accounts.py): a learner made for a platform's user --------------------


def create_with_free_name(session: Session, name: str, email: str | None) -> Learner:
    """Create a learner under ``name``, or ``name (2)``, ``name (3)``…, whichever is free.

    A platform's user never takes over a learner who started under the same name: the
    platform vouches for its own users, not for the names typed here.
    """
    base = clean_name(name)[: MAX_NAME_CHARS - 8]
    for n in range(1, 10_000):
        candidate = base if n == 1 else f"{base} ({n})"
        key = name_key(candidate)
        if len(key) <= MAX_NAME_CHARS and find_by_name(session, candidate) is None:
            learner = Learner(display_name=candidate, name_key=key, email=clean_email(email))
            session.add(learner)
            session.flush()
            return learner
    raise InvalidText(f"No free name is left for “{base}”.")
