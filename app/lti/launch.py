"""The OIDC login and the launch, checked by pylti1p3; what went wrong said plainly.

Every check of the id_token (its signature against the platform's key set, ``iss``,
``aud``, ``exp``, the nonce, the state, the deployment, the message type and version) is
pylti1p3's and PyJWT's; tfquiz adds ``azp``, which the library leaves out, and the
single use of each nonce (app/lti/storage.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.responses import Response
from pylti1p3.exception import LtiException, OIDCException
from sqlalchemy.orm import Session

from app.db import Database
from app.lti.adapters import (
    LtiCookies,
    LtiLaunch,
    LtiLogin,
    LtiRequest,
    LtiSession,
    PlatformSession,
)
from app.lti.keys import KeyStore
from app.lti.storage import DatabaseLaunchStorage
from app.lti.toolconf import DatabaseToolConf

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LOGIN_LIFETIME_S = 10 * 60  # a nonce outlives its login by this long, at most
LAUNCH_LIFETIME_S = 60 * 60  # a validated launch, for a deep-linking reply to find again

# The library's messages, and what they mean to someone looking at the page.
REASONS = (
    ("Could not find issuer", "the login request names no issuer (iss)"),
    ("Could not find login hint", "the login request has no login_hint"),
    ("Could not find registration", "this platform (issuer and client id) is not registered"),
    ("Registration not found", "the id_token's issuer and audience (aud) are not a "
     "registered platform and client id"),
    ("Client id not registered", "the id_token's audience (aud) is not tfquiz's client id"),
    ("Missing state", "the launch carries no state"),
    ("State not found", "the launch's state does not match this browser's login: open the "
     "link from the course again, in a window that keeps cookies"),
    ("Missing id_token", "the launch carries no id_token"),
    ("Invalid id_token", "the id_token is not a JWT"),
    ("Invalid JWT format", "the id_token is not a JWT"),
    ('"nonce" is empty', "the id_token has no nonce"),
    ("Invalid Nonce", "the id_token's nonce is unknown, expired or already used (a launch "
     "counts once): open the link from the course again"),
    ("Signature has expired", "the id_token has expired (exp)"),
    ("Signature verification failed", "the id_token's signature does not match the "
     "platform's public keys"),
    ("Unable to find public key", "no key in the platform's key set matches the id_token's kid"),
    ("JWT KID not found", "the id_token names no key (kid)"),
    ("Error during fetch URL", "the platform's key set could not be fetched"),
    ("Unable to find deployment", "this deployment of the tool is not registered for the "
     "platform"),
    ("deployment_id is not set", "the id_token has no deployment id claim"),
    ("Invalid message type", "the id_token has no message type"),
    ("Unrecognized message type", "the message type is not one tfquiz accepts"),
    ("Must have a user", "the id_token names no user (sub)"),
    ("Incorrect version", "the LTI version is not 1.3.0"),
    ("Missing Roles", "the id_token has no roles claim"),
    ("Missing Resource Link", "the id_token has no resource link id"),
    ("Missing Deep Linking", "the deep-linking request has no deep_linking_settings"),
    ("Must support resource link", "the LMS does not accept links (ltiResourceLink) here"),
    ("Launch data not found", "this choice was already sent, or has expired: add the link "
     "again from the course"),
)  # fmt: skip


class LaunchRefused(Exception):
    """A login or launch tfquiz will not accept, with a message fit for the page."""

    def __init__(self, detail: str) -> None:
        reason = next((text for key, text in REASONS if key in detail), None)
        plain = f"{detail[:1].upper()}{detail[1:]}."
        self.message = f"{reason[0].upper()}{reason[1:]} ({detail})." if reason else plain
        super().__init__(self.message)


@dataclass(frozen=True)
class Launch:
    """What a valid launch says: who, with which role, and what it opens."""

    platform_id: int
    sub: str
    nonce: str
    name: str | None
    given_name: str | None
    family_name: str | None
    email: str | None
    teaching: bool
    question_id: str | None
    claims: Mapping[str, Any]
    deep_linking: bool = False  # an instructor choosing what a new link opens
    launch_id: str = ""  # where the library keeps the validated launch, for the reply


def lti_request(params: Mapping[str, str], cookies: Mapping[str, str], secure: bool) -> LtiRequest:
    """Wrap a request's parameters and cookies for the library."""
    return LtiRequest(params, cookies, secure)


def start_login(
    database: Database, keys: KeyStore, request: LtiRequest, launch_url: str
) -> Response:
    """Answer a platform's login initiation: store a nonce, redirect to its auth endpoint."""
    storage = DatabaseLaunchStorage(database)
    with database.reading() as session:
        config = DatabaseToolConf(session, keys.current())
    login = LtiLogin(request, config, LtiSession(storage), LtiCookies(request))
    login.set_launch_data_lifetime(LOGIN_LIFETIME_S)
    try:
        response = login.redirect(launch_url)
    except (LtiException, OIDCException) as error:
        raise LaunchRefused(str(error)) from None
    with database.writing() as session:
        storage.flush(session)
    return response


def check_launch(
    database: Database, keys: KeyStore, request: LtiRequest
) -> tuple[Launch, DatabaseLaunchStorage]:
    """Validate a launch; its storage writes wait for the caller's transaction."""
    storage = DatabaseLaunchStorage(database)
    with database.reading() as session:
        config = DatabaseToolConf(session, keys.current())
    session_service, cookies = LtiSession(storage), LtiCookies(request)
    http = PlatformSession()
    launch = LtiLaunch(request, config, session_service, cookies, requests_session=http)
    launch.set_launch_data_lifetime(LAUNCH_LIFETIME_S)
    try:
        body = launch.body()
        teaching = launch.check_teacher_access() or launch.check_teaching_assistant_access()
        deep_linking = launch.is_deep_link_launch()
    except (LtiException, OIDCException) as error:
        raise LaunchRefused(str(error)) from None
    client_id = launch.get_client_id()
    _check_azp(body, client_id)
    platform = config.platform(body["iss"], client_id)
    assert platform is not None  # the library found its registration
    return (
        Launch(
            platform_id=platform.id,
            sub=str(body["sub"]),
            nonce=str(body["nonce"]),
            name=_text(body.get("name")),
            given_name=_text(body.get("given_name")),
            family_name=_text(body.get("family_name")),
            email=_text(body.get("email")),
            teaching=teaching,
            question_id=target_question(body),
            claims=body,
            deep_linking=deep_linking,
            launch_id=launch.get_launch_id(),
        ),
        storage,
    )


def _check_azp(body: Mapping[str, Any], client_id: str) -> None:
    """Hold ``azp`` to OpenID Connect: present when there are several audiences, and ours."""
    audiences = body.get("aud")
    several = isinstance(audiences, list) and len(audiences) > 1
    azp = body.get("azp")
    if several and azp is None:
        raise LaunchRefused("the id_token has several audiences but no authorised party (azp)")
    if azp is not None and azp != client_id:
        raise LaunchRefused(f"the id_token's authorised party (azp) {azp!r} is not tfquiz")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def target_question(body: Mapping[str, Any]) -> str | None:
    """Return the question a link opens: its ``question`` custom parameter, or the
    ``question`` of the target link URI; None opens the whole quiz."""
    custom = body.get(CLAIM + "custom")
    if isinstance(custom, dict) and isinstance(custom.get("question"), str):
        return str(custom["question"]).strip() or None
    target = body.get(CLAIM + "target_link_uri")
    if isinstance(target, str):
        found = parse_qs(urlsplit(target).query).get("question")
        if found:
            return found[0].strip() or None
    return None


def consume(session: Session, storage: DatabaseLaunchStorage, launch: Launch) -> None:
    """Write the launch's storage and use its nonce up; refuse a launch already used."""
    if not storage.consume_nonce(session, launch.nonce):
        raise LaunchRefused("Invalid Nonce")
    storage.flush(session)
