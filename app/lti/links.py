"""Resource links: recorded at each launch with where their scores go, and who launched them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import LtiLink, LtiLinkUser, LtiUser, utc_now
from app.validation import InvalidText

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
GRADE_MODES = ("total", "per-question")


def _claim(claims: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = claims.get(CLAIM + name)
    return value if isinstance(value, dict) else {}


def _url(value: Any) -> str | None:
    return value[:2000] if isinstance(value, str) and value.startswith("http") else None


def remember_link(
    session: Session, platform_id: int, claims: Mapping[str, Any], question_id: str | None
) -> LtiLink | None:
    """Record (or refresh) the launch's resource link and its grade service endpoints."""
    resource = _claim(claims, "resource_link")
    link_id = resource.get("id")
    if not isinstance(link_id, str) or not link_id:
        return None  # a deep-linking request has no resource link
    query = select(LtiLink).where(
        LtiLink.platform_id == platform_id, LtiLink.resource_link_id == link_id[:255]
    )
    link = session.scalars(query).first()
    if link is None:
        link = LtiLink(platform_id=platform_id, resource_link_id=link_id[:255], grade_mode="total")
        session.add(link)
    ags = claims.get(AGS_CLAIM)
    ags = ags if isinstance(ags, dict) else {}
    scopes = ags.get("scope")
    link.deployment_id = str(claims.get(CLAIM + "deployment_id", ""))[:255]
    link.context_id = str(_claim(claims, "context").get("id") or "")[:255] or None
    link.title = str(resource.get("title") or "")[:255] or None
    link.question_id = question_id
    link.ags_scopes = [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []
    link.lineitems_url = _url(ags.get("lineitems"))
    link.lineitem_url = _url(ags.get("lineitem"))
    nrps = claims.get(NRPS_CLAIM)
    link.memberships_url = (
        _url(nrps.get("context_memberships_url")) if isinstance(nrps, dict) else None
    )
    link.updated_at = utc_now()
    if link.memberships_url:
        link.roster_wanted_at = link.updated_at  # the sender syncs it, not more than it may
    session.flush()
    return link


def join_link(session: Session, link: LtiLink, platform_id: int, sub: str) -> None:
    """Note that this platform user launched the link, so their scores go to it."""
    user = session.scalars(
        select(LtiUser).where(LtiUser.platform_id == platform_id, LtiUser.sub == sub)
    ).one()
    if session.get(LtiLinkUser, (link.id, user.id)) is None:
        session.add(LtiLinkUser(link_id=link.id, lti_user_id=user.id))
        session.flush()


def can_send_scores(link: LtiLink) -> bool:
    """Tell whether the platform lets tfquiz send this link's scores."""
    return SCORE_SCOPE in link.ags_scopes and bool(link.lineitem_url or link.lineitems_url)


def set_grade_mode(session: Session, link_id: int, mode: str) -> LtiLink:
    """Choose whether a link gets the total or a score per question; InvalidText if bad."""
    if mode not in GRADE_MODES:
        raise InvalidText("Choose the total or a score per question.")
    link = session.get(LtiLink, link_id)
    if link is None:
        raise InvalidText(f"There is no course link {link_id}.")
    link.grade_mode = mode
    return link


def list_links(session: Session) -> list[LtiLink]:
    """Return every resource link, the most recently launched first."""
    return list(session.scalars(select(LtiLink).order_by(LtiLink.updated_at.desc())))


def request_roster(session: Session, link_id: int) -> LtiLink:
    """Ask for a roster sync now, however recent the last one; InvalidText if impossible."""
    link = session.get(LtiLink, link_id)
    if link is None:
        raise InvalidText(f"There is no course link {link_id}.")
    if not link.memberships_url:
        raise InvalidText("The LMS did not offer this link's roster (Names and Roles).")
    link.roster_wanted_at, link.roster_synced_at = utc_now(), None
    return link
