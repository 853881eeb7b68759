"""LTI 1.3: login initiation, launch and public key set; the instructor page for platforms."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.db import Database
from app.instructors import start_session
from app.learners import end_session, open_session
from app.lti.accounts import contact_email, display_name, instructor_for, learner_for
from app.lti.adapters import LtiRequest
from app.lti.deep_linking import deep_link_reply
from app.lti.keys import KeyStore
from app.lti.launch import Launch, LaunchRefused, check_launch, consume, lti_request, start_login
from app.lti.links import join_link, list_links, remember_link, request_roster, set_grade_mode
from app.lti.outbox import recent_sends, retry_failed
from app.lti.platforms import PlatformForm, add_platform, list_platforms, remove_platform
from app.models import Instructor
from app.questions import QuestionBank
from app.validation import InvalidText
from app.web.auth import InstructorDep, require_instructor, set_instructor_cookie
from app.web.csrf import require_csrf
from app.web.deps import (
    DatabaseDep,
    ReadSession,
    RowId,
    SettingsDep,
    keep_learner_session,
    learner_session_token,
)
from app.web.errors import error_response
from app.web.middleware import APP_POLICY
from app.web.pages import FLASH_KEY, redirect, render

# Platforms call these from their own servers or post forms across sites: no CSRF token.
router = APIRouter(prefix="/lti", include_in_schema=False)
instructor_router = APIRouter(
    prefix="/instructor/lti",
    dependencies=[Depends(require_instructor), Depends(require_csrf)],
    include_in_schema=False,
)
DEEP_LINK_KEY = "lti_deep_link"
JWKS_MAX_AGE_S = 300  # platforms refetch soon after a rotation; the old key stays meanwhile
Typed = Annotated[str, Field(max_length=2000)]


def keys_of(request: Request) -> KeyStore:
    """Return the app's tool key store."""
    store: KeyStore = request.app.state.lti_keys
    return store


@router.get("/jwks")
def jwks(request: Request) -> Response:
    """Serve the tool's public keys: the current one and those rotated out recently."""
    return JSONResponse(
        keys_of(request).jwks(), headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_S}"}
    )


async def _params(request: Request) -> dict[str, str]:
    """Return a request's parameters, from its query and (for a POST) its form."""
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _wrap(request: Request, params: dict[str, str]) -> LtiRequest:
    """Wrap the request for pylti1p3; https (behind a trusted proxy too) makes cookies Secure."""
    secure = request.url.scheme == "https"
    return lti_request(params, dict(request.cookies), secure)


@router.api_route("/login", methods=["GET", "POST"], name="lti_login")
async def login(request: Request) -> Response:
    """Start the OIDC login a platform initiates: redirect to its authentication endpoint."""
    lti = _wrap(request, await _params(request))
    launch_url = str(request.url_for("lti_launch"))
    try:
        return await run_in_threadpool(
            start_login, request.app.state.db, keys_of(request), lti, launch_url
        )
    except LaunchRefused as refused:
        return error_response(request, 400, f"The sign-in from your LMS was refused: {refused}")


@router.post("/launch", name="lti_launch")
async def launch(request: Request) -> Response:
    """Check the platform's id_token and sign its user in; a bad one stores nothing."""
    lti = _wrap(request, await _params(request))
    try:
        return await run_in_threadpool(_launch, request, lti)
    except LaunchRefused as refused:
        return error_response(request, 400, f"The launch from your LMS was refused: {refused}")


def _launch(request: Request, lti: LtiRequest) -> Response:
    """Validate (no lock held while the platform's keys are fetched), then sign in at once."""
    database: Database = request.app.state.db
    bank: QuestionBank = request.app.state.bank
    checked, storage = check_launch(database, keys_of(request), lti)
    if checked.deep_linking:
        return _deep_link_picker(request, checked, storage)
    learner_token: str | None = None
    with database.writing() as session:
        consume(session, storage, checked)
        name = display_name(checked.name, checked.given_name, checked.family_name, checked.sub)
        email = contact_email(checked.email)
        if checked.teaching:  # an instructor of the course, not a learner of the quiz
            instructor = instructor_for(session, checked.platform_id, checked.sub, email)
            token, shown = start_session(session, instructor), name
        else:
            learner = learner_for(session, checked.platform_id, checked.sub, name, email)
            # A server-side session like any learner's: "Leave" and an instructor end it.
            token, shown = None, learner.display_name
            learner_token = open_session(session, learner.id)
            if (replacing := learner_session_token(request)) is not None:
                end_session(session, replacing)  # this browser's earlier session, rotated
        link = remember_link(session, checked.platform_id, checked.claims, checked.question_id)
        if link is not None and not checked.teaching:
            join_link(session, link, checked.platform_id, checked.sub)  # scores go to it
    if learner_token is not None:
        keep_learner_session(request, learner_token)
    url, note = _destination(bank, checked)
    request.session[FLASH_KEY] = f"Signed in from your LMS as {shown}.{note}"
    response = RedirectResponse(url, status_code=303)
    if token is not None:
        set_instructor_cookie(response, token, request.app.state.settings)
    return response


def _deep_link_picker(request: Request, checked: Launch, storage: Any) -> Response:
    """Let an instructor choose what the new link opens (the launch is kept for the reply)."""
    if not checked.teaching:
        raise LaunchRefused("only an instructor can choose what a link opens")
    database: Database = request.app.state.db
    with database.writing() as session:
        consume(session, storage, checked)
    request.session[DEEP_LINK_KEY] = checked.launch_id  # the reply is this browser's only
    bank: QuestionBank = request.app.state.bank
    return render(request, "instructor/lti_deep_link.html", questions=bank.ordered())


def _destination(bank: QuestionBank, checked: Launch) -> tuple[str, str]:
    """Return where the link goes (one question or the whole quiz) and a note about it."""
    home = "/instructor/" if checked.teaching else "/"
    if checked.question_id is None:
        return home, ""
    question = bank.by_id(checked.question_id)
    if question is None:
        return home, " The question this link opens is no longer in the quiz."
    return f"{home}questions/{question.number}", ""


@router.post("/deep-link", dependencies=[Depends(require_csrf)])
def deep_link(
    request: Request,
    database: DatabaseDep,
    choice: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Sign the chosen link for the LMS and hand the browser the form that takes it back."""
    launch_id = request.session.get(DEEP_LINK_KEY)
    if not isinstance(launch_id, str):
        message = "There is no link being added from your LMS here; add it again from the course."
        return error_response(request, 400, message)
    base = str(request.base_url).rstrip("/")
    try:
        reply = deep_link_reply(
            database, keys_of(request), request.app.state.bank, launch_id, choice, base
        )
    except LaunchRefused as refused:
        return error_response(request, 400, f"The link could not be made: {refused}")
    request.session.pop(DEEP_LINK_KEY, None)
    response = render(request, "instructor/lti_deep_link_return.html", reply=reply)
    # The reply goes to the LMS: let this one page's form post there.
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(reply.return_url))
    policy = APP_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")
    response.headers["Content-Security-Policy"] = policy
    return response


class PlatformFields(BaseModel):
    """The instructor page's form: deployment ids one per line."""

    issuer: Typed = ""
    client_id: Typed = ""
    deployment_ids: Typed = ""
    login_url: Typed = ""
    token_url: Typed = ""
    jwks_url: Typed = ""

    def to_form(self) -> PlatformForm:
        """Return what the registry takes."""
        deployments = tuple(line for line in self.deployment_ids.splitlines() if line.strip())
        return PlatformForm(
            self.issuer,
            self.client_id,
            deployments,
            self.login_url,
            self.token_url,
            self.jwks_url,
        )


def _page(
    request: Request, session: Session, instructor: Instructor, status: int = 200, **extra: Any
) -> Response:
    """Render the platforms page, again with the typed form and its error after a refusal."""
    base = str(request.base_url).rstrip("/")
    questions = request.app.state.bank.ordered()
    return render(
        request,
        "instructor/lti.html",
        status=status,
        instructor=instructor,
        platforms=list_platforms(session),
        tool={
            "login": f"{base}/lti/login",
            "launch": f"{base}/lti/launch",
            "jwks": f"{base}/lti/jwks",
        },
        course_links=list_links(session),
        sends=recent_sends(session),
        questions={str(q.id): q for q in questions},
        targets=[(q, f"{base}/lti/launch?question={q.id}") for q in questions],
        key_id=keys_of(request).current().kid,
        form=extra.pop("form", PlatformFields()),
        **extra,
    )


@instructor_router.get("")
def platforms_page(request: Request, session: ReadSession, instructor: InstructorDep) -> Response:
    """Show the registered platforms, the form to add one and the tool's URLs."""
    return _page(request, session, instructor)


@instructor_router.post("")
def platforms_add(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    instructor: InstructorDep,
    fields: Annotated[PlatformFields, Form()],
) -> Response:
    """Register a platform; a bad or duplicate one shows the form again with what was typed."""
    try:
        with database.writing() as session:
            platform = add_platform(session, fields.to_form(), settings.lti_allow_http_loopback)
            issuer = platform.issuer
    except InvalidText as error:
        with database.reading() as session:
            return _page(request, session, instructor, 422, form=fields, error=str(error))
    return redirect(request, "/instructor/lti", f"Platform {issuer} registered.")


@instructor_router.post("/{platform_id}/remove")
def platforms_remove(request: Request, database: DatabaseDep, platform_id: RowId) -> Response:
    """Remove a platform: launches from it are refused from now on."""
    try:
        with database.writing() as session:
            issuer = remove_platform(session, platform_id).issuer
    except InvalidText as error:
        return redirect(request, "/instructor/lti", str(error))
    return redirect(request, "/instructor/lti", f"Platform {issuer} removed.")


@instructor_router.post("/rotate-key")
def rotate_key(request: Request) -> Response:
    """Sign with a new tool key; the previous one stays in the key set for the overlap."""
    fresh = keys_of(request).rotate()
    return redirect(request, "/instructor/lti", f"New tool key {fresh.kid}.")


@instructor_router.post("/links/{link_id}/mode")
def link_mode(
    request: Request,
    database: DatabaseDep,
    link_id: RowId,
    mode: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Send a course link the quiz's total, or a score per question (a line item each)."""
    try:
        with database.writing() as session:
            link = set_grade_mode(session, link_id, mode)
            title = link.title or link.resource_link_id
    except InvalidText as error:
        return redirect(request, "/instructor/lti", str(error))
    what = "the total" if mode == "total" else "a score per question"
    return redirect(request, "/instructor/lti", f"{title} now gets {what}.")


@instructor_router.post("/retry")
def retry(request: Request, database: DatabaseDep) -> Response:
    """Queue again every score that failed for good."""
    with database.writing() as session:
        count = retry_failed(session)
    return redirect(request, "/instructor/lti", f"{count} score(s) queued again.")


@instructor_router.post("/links/{link_id}/roster")
def link_roster(request: Request, database: DatabaseDep, link_id: RowId) -> Response:
    """Sync a course link's roster now (in the background, within seconds)."""
    try:
        with database.writing() as session:
            link = request_roster(session, link_id)
            title = link.title or link.resource_link_id
    except InvalidText as error:
        return redirect(request, "/instructor/lti", str(error))
    return redirect(request, "/instructor/lti", f"The roster of {title} is being synced.")
