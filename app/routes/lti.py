"""LTI 1.3: the tool's public key set, and the instructor page that registers platforms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.lti.keys import KeyStore
from app.lti.platforms import PlatformForm, add_platform, list_platforms, remove_platform
from app.models import Instructor
from app.validation import InvalidText
from app.web.auth import InstructorDep, require_instructor
from app.web.csrf import require_csrf
from app.web.deps import DatabaseDep, ReadSession, RowId, SettingsDep
from app.web.pages import redirect, render

# Platforms call these from their own servers or post forms across sites: no CSRF token.
router = APIRouter(prefix="/lti", include_in_schema=False)
instructor_router = APIRouter(
    prefix="/instructor/lti",
    dependencies=[Depends(require_instructor), Depends(require_csrf)],
    include_in_schema=False,
)
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
    return render(
        request,
        "instructor/lti.html",
        status=status,
        instructor=instructor,
        platforms=list_platforms(session),
        tool={"jwks": f"{base}/lti/jwks"},
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
