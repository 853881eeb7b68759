"""Instructor accounts, one-time setup tokens and server-side sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from app.models import Instructor, InstructorSession, SetupToken, utc_now
from app.passwords import check_new_password, hash_password, needs_rehash, verify_password
from app.validation import MAX_EMAIL_CHARS, InvalidText, clean_email

SESSION_TOKEN_BYTES = 32  # 256 bits
LAST_SEEN_GRANULARITY = timedelta(minutes=1)


def digest(token: str) -> str:
    """Hash a bearer token, so that the database never holds a usable one."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """Return the form of an email address used as the account's key."""
    cleaned = clean_email(email)
    if cleaned is None:
        raise InvalidText("Please enter an email address.")
    key = cleaned.lower()  # lower() can lengthen: "İ" becomes two characters
    if len(key) > MAX_EMAIL_CHARS:
        raise InvalidText("That email address does not look valid.")
    return key


def has_instructor(session: Session) -> bool:
    """Tell whether any instructor account exists."""
    return bool(session.scalar(select(exists().where(Instructor.id.is_not(None)))))


def find_instructor(session: Session, email: str) -> Instructor | None:
    """Return the instructor with this email, if any."""
    return session.scalars(select(Instructor).where(Instructor.email == email.lower())).first()


def create_instructor(session: Session, email: str, password: str) -> Instructor:
    """Create an account; raise InvalidText for a bad or taken email or a weak password."""
    key = normalise_email(email)
    check_new_password(password)
    if find_instructor(session, key) is not None:
        raise InvalidText(f"An instructor with the email {key} already exists.")
    instructor = Instructor(email=key, password_hash=hash_password(password))
    session.add(instructor)
    session.flush()
    return instructor


def authenticate(session: Session, email: str, password: str) -> Instructor | None:
    """Return the instructor if the password is right; unknown and wrong look the same."""
    instructor = find_instructor(session, email.strip())
    if not verify_password(instructor.password_hash if instructor else None, password):
        return None
    assert instructor is not None
    if needs_rehash(instructor.password_hash):
        instructor.password_hash = hash_password(password)
    return instructor


def change_password(session: Session, instructor: Instructor, new_password: str) -> None:
    """Set a new password and end every session of the account."""
    check_new_password(new_password)
    instructor.password_hash = hash_password(new_password)
    instructor.password_changed_at = utc_now()
    session.execute(
        delete(InstructorSession).where(InstructorSession.instructor_id == instructor.id)
    )


def create_setup_token(session: Session, lifetime: timedelta) -> str:
    """Create a one-time token for the first instructor; return the raw token."""
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    session.add(SetupToken(token_hash=digest(token), expires_at=utc_now() + lifetime))
    return token


def consume_setup_token(session: Session, token: str) -> bool:
    """Use a setup token once; tell whether it was valid, unused and unexpired."""
    row = session.get(SetupToken, digest(token))
    now = utc_now()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return False
    row.used_at = now
    return True


def setup_token_valid(session: Session, token: str) -> bool:
    """Tell whether a setup token could still be used, without using it."""
    row = session.get(SetupToken, digest(token))
    return row is not None and row.used_at is None and row.expires_at > utc_now()


def start_session(session: Session, instructor: Instructor) -> str:
    """Open a server-side session; return the raw id for the cookie."""
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    session.add(InstructorSession(id_hash=digest(token), instructor_id=instructor.id))
    return token


def end_session(session: Session, token: str) -> None:
    """Delete a session, so that its cookie no longer works anywhere."""
    session.execute(delete(InstructorSession).where(InstructorSession.id_hash == digest(token)))


def resolve_session(
    session: Session, token: str, idle: timedelta, absolute: timedelta
) -> tuple[Instructor, InstructorSession] | None:
    """Return the live session's instructor, or None when unknown, idle or too old."""
    row = session.get(InstructorSession, digest(token))
    if row is None:
        return None
    now = utc_now()
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        return None
    instructor = session.get(Instructor, row.instructor_id)
    return (instructor, row) if instructor is not None else None


def touch_due(row: InstructorSession, now: datetime) -> bool:
    """Tell whether a session's last-seen time is stale enough to write again."""
    return now - row.last_seen_at >= LAST_SEEN_GRANULARITY
