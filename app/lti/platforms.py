"""The registry of platforms (LMSs) allowed to launch tfquiz, and the checks on what is typed."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import LtiDeployment, LtiPlatform
from app.validation import InvalidText

MAX_ID_CHARS = 255
MAX_URL_CHARS = 2000


@dataclass(frozen=True)
class PlatformForm:
    """What registering a platform takes, as typed on the CLI or the instructor page."""

    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    login_url: str
    token_url: str
    jwks_url: str


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def clean_url(url: str, what: str, allow_http_loopback: bool, *, query: bool = True) -> str:
    """Return a platform URL, or raise InvalidText: https only (http on this machine if allowed).

    tfquiz sends its service tokens to these URLs and trusts the keys found at one of them,
    so a plain-http URL would let anyone on the path forge launches or read grades.
    """
    url = url.strip()
    if not url:
        raise InvalidText(f"Please give the {what}.")
    if len(url) > MAX_URL_CHARS or not url.isprintable() or " " in url:
        raise InvalidText(f"The {what} is not a valid URL.")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise InvalidText(f"The {what} is not a valid URL: {url}") from None
    http_ok = allow_http_loopback and parts.scheme == "http" and _is_loopback(host)
    if parts.scheme != "https" and not http_ok:
        raise InvalidText(f"The {what} must start with https:// (got {url}).")
    if not host:
        raise InvalidText(f"The {what} has no host name: {url}")
    if parts.username is not None or parts.password is not None:
        raise InvalidText(f"The {what} must not carry a user name or password.")
    if parts.fragment or (parts.query and not query):
        part = "#fragment" if parts.fragment else "?query"
        raise InvalidText(f"The {what} must not have a {part}: {url}")
    return url


def clean_identifier(value: str, what: str) -> str:
    """Return a client or deployment id as the platform gave it, or raise InvalidText."""
    value = value.strip()
    if not value:
        raise InvalidText(f"Please give the {what}.")
    if len(value) > MAX_ID_CHARS or not value.isprintable():
        raise InvalidText(f"The {what} must be at most {MAX_ID_CHARS} printable characters.")
    return value


def add_platform(session: Session, form: PlatformForm, allow_http_loopback: bool) -> LtiPlatform:
    """Register a platform with its deployments; raise InvalidText for bad input or a duplicate."""
    issuer = clean_url(form.issuer, "issuer", allow_http_loopback, query=False)
    client_id = clean_identifier(form.client_id, "client id")
    deployments = [clean_identifier(d, "deployment id") for d in form.deployment_ids]
    if not deployments:
        raise InvalidText("Please give at least one deployment id.")
    if len(set(deployments)) != len(deployments):
        raise InvalidText("A deployment id is given twice.")
    typed = (("login", form.login_url), ("token", form.token_url), ("key set", form.jwks_url))
    urls = {what: clean_url(url, f"{what} URL", allow_http_loopback) for what, url in typed}
    if find_platform(session, issuer, client_id) is not None:
        raise InvalidText(
            f"A platform with issuer {issuer} and client id {client_id} is already registered; "
            "remove it first to change it."
        )
    platform = LtiPlatform(
        issuer=issuer,
        client_id=client_id,
        login_url=urls["login"],
        token_url=urls["token"],
        jwks_url=urls["key set"],
        deployments=[LtiDeployment(deployment_id=d) for d in deployments],
    )
    session.add(platform)
    session.flush()
    return platform


def find_platform(session: Session, issuer: str, client_id: str | None) -> LtiPlatform | None:
    """Return the platform with this issuer (and client id, when the launch names one)."""
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id is not None:
        query = query.where(LtiPlatform.client_id == client_id)
    return session.scalars(query.order_by(LtiPlatform.id)).first()


def list_platforms(session: Session) -> list[LtiPlatform]:
    """Return every registered platform with its deployments, oldest first."""
    query = select(LtiPlatform).options(selectinload(LtiPlatform.deployments))
    return list(session.scalars(query.order_by(LtiPlatform.id)))


def remove_platform(session: Session, platform_id: int) -> LtiPlatform:
    """Remove a platform and its deployments; raise InvalidText when there is no such one."""
    platform = session.get(LtiPlatform, platform_id)
    if platform is None:
        raise InvalidText(f"There is no registered platform {platform_id}.")
    session.delete(platform)
    session.flush()
    return platform
