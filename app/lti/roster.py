"""Names and Role Provisioning: a course's roster, so learners appear before they start.

A launch asks for a sync; the background sender does it, at most once every
``TFQUIZ_LTI_ROSTER_MINUTES`` per link unless an instructor asks for one on the LMS page,
so launches never wait for the LMS and a busy class does not hammer it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.db import Database
from app.lti.accounts import contact_email, display_name, learner_for
from app.lti.adapters import PlatformSession
from app.lti.keys import KeyStore
from app.lti.links import join_link
from app.lti.toolconf import DatabaseToolConf
from app.models import LtiLink, utc_now

TEACHING = ("Instructor", "TeachingAssistant", "Administrator", "ContentDeveloper", "Mentor")


def claim_rosters(session: Session, every: timedelta) -> list[int]:
    """Take the links whose roster was asked for and not synced in the last ``every``.

    Taking one marks it synced now, in the caller's write transaction, so another web
    process does not sync it too; a failed sync stays marked and is tried after ``every``.
    """
    now = utc_now()
    query = select(LtiLink.id).where(
        LtiLink.memberships_url.is_not(None),
        LtiLink.roster_wanted_at.is_not(None),
        or_(
            LtiLink.roster_synced_at.is_(None),
            (LtiLink.roster_synced_at < LtiLink.roster_wanted_at)
            & (LtiLink.roster_synced_at <= now - every),
        ),
    )
    links = list(session.scalars(select(LtiLink).where(LtiLink.id.in_(query))))
    for link in links:
        link.roster_synced_at = now
    return [link.id for link in links]


def is_learner(member: dict[str, Any]) -> bool:
    """Tell whether a member takes the course (no teaching role) and is active."""
    roles = [str(role) for role in member.get("roles", [])]
    teaching = any(role.rsplit("#", 1)[-1] in TEACHING for role in roles)
    return not teaching and member.get("status", "Active") == "Active"


def fetch_members(database: Database, keys: KeyStore, link_id: int) -> list[dict[str, Any]]:
    """Fetch a link's course members with pylti1p3 (every page of them)."""
    with database.reading() as session:
        link = session.get(LtiLink, link_id)
        assert link is not None and link.memberships_url
        config = DatabaseToolConf(session, keys.current())
    platform = next(p for p in config.platforms if p.id == link.platform_id)
    connector = ServiceConnector(config.registration(platform), PlatformSession())
    service = NamesRolesProvisioningService(
        connector, {"context_memberships_url": link.memberships_url}
    )
    return [dict(member) for member in service.get_members()]


def apply_roster(session: Session, link_id: int, members: list[dict[str, Any]]) -> int:
    """Make a learner for each member who takes the course; return how many there are."""
    link = session.get(LtiLink, link_id)
    if link is None:
        return 0
    count = 0
    for member in members:
        sub = member.get("user_id")
        if not isinstance(sub, str) or not sub or not is_learner(member):
            continue
        name = display_name(
            member.get("name"), member.get("given_name"), member.get("family_name"), sub
        )
        learner_for(session, link.platform_id, sub[:255], name, contact_email(member.get("email")))
        join_link(session, link, link.platform_id, sub[:255])
        count += 1
    link.roster_synced_at, link.roster_error = utc_now(), None
    return count


def note_failure(session: Session, link_id: int, error: str) -> None:
    """Record why a sync failed; it is tried again at the next interval."""
    link = session.get(LtiLink, link_id)
    if link is not None:
        link.roster_synced_at, link.roster_error = utc_now(), error[:2000]
