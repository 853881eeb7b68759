"""Who a launch signs in as: the learner (and, for teaching roles, the instructor) of a
platform's user, found by the platform and its ``sub`` or made on their first launch."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.instructors import find_instructor
from app.learners import create_with_free_name, get_learner
from app.models import Instructor, Learner, LtiUser
from app.validation import InvalidText, clean_email, clean_name

# Never a valid argon2 hash: an account made by a launch has no password to guess.
NO_PASSWORD = "!lti-launch-only"
LTI_EMAIL_DOMAIN = "lti.invalid"  # RFC 2606: can never be someone's address


def display_name(name: str | None, given: str | None, family: str | None, sub: str) -> str:
    """Return the name the launch's claims give, or a stable stand-in when they give none."""
    for candidate in (name, " ".join(part for part in (given, family) if part)):
        if candidate:
            try:
                return clean_name(candidate)
            except InvalidText:
                continue  # a name the LMS allows but we cannot show (control characters)
    return f"LMS user {hashlib.sha256(sub.encode()).hexdigest()[:8]}"


def contact_email(email: str | None) -> str | None:
    """Return the claims' email if it looks like one; a bad one is dropped, not refused."""
    try:
        return clean_email(email)
    except InvalidText:
        return None


def _link(session: Session, platform_id: int, sub: str) -> LtiUser:
    query = select(LtiUser).where(LtiUser.platform_id == platform_id, LtiUser.sub == sub)
    link = session.scalars(query).first()
    if link is None:
        link = LtiUser(platform_id=platform_id, sub=sub)
        session.add(link)
    return link


def learner_for(
    session: Session, platform_id: int, sub: str, name: str, email: str | None
) -> Learner:
    """Return the platform user's learner, made on their first launch; refresh their email."""
    link = _link(session, platform_id, sub)
    learner = get_learner(session, link.learner_id) if link.learner_id else None
    if learner is None:
        learner = create_with_free_name(session, name, email)
        link.learner_id = learner.id
    elif email:
        learner.email = email
    session.flush()
    return learner


def instructor_for(session: Session, platform_id: int, sub: str, email: str | None) -> Instructor:
    """Return the instructor account of a platform user with a teaching role.

    The account is this platform user's own, never an existing one found by email: an
    LMS that let someone set any address would hand them that instructor's account.
    """
    link = _link(session, platform_id, sub)
    instructor = session.get(Instructor, link.instructor_id) if link.instructor_id else None
    if instructor is None:
        wanted = (email or "").lower()
        if not wanted or find_instructor(session, wanted) is not None:
            digest = hashlib.sha256(f"{platform_id} {sub}".encode()).hexdigest()[:16]
            wanted = f"lms-{digest}@{LTI_EMAIL_DOMAIN}"
        instructor = Instructor(email=wanted, password_hash=NO_PASSWORD)
        session.add(instructor)
        session.flush()
        link.instructor_id = instructor.id
    session.flush()
    return instructor
