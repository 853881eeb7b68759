"""FastAPI adapters for pylti1p3: its Request, Cookie, Session, Redirect, OIDCLogin and
MessageLaunch classes, as its README asks of a framework it does not ship with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pylti1p3.cookie import CookieService
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.request import Request
from pylti1p3.session import SessionService

from app.lti.storage import DatabaseLaunchStorage
from app.lti.toolconf import DatabaseToolConf

PLATFORM_TIMEOUT_S = 10  # pylti1p3 sets none: a platform that hangs would hold a thread


class PlatformSession(requests.Session):
    """The HTTP session pylti1p3 reaches platforms with, every call given a timeout."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        """Send a request that gives up after PLATFORM_TIMEOUT_S."""
        kwargs.setdefault("timeout", PLATFORM_TIMEOUT_S)
        return super().request(*args, **kwargs)


class LtiRequest(Request):
    """The parameters (query or form) and cookies of one request."""

    def __init__(self, params: Mapping[str, str], cookies: Mapping[str, str], secure: bool):
        self._params = params
        self._cookies = cookies
        self._secure = secure

    @property
    def session(self) -> None:
        """Keep nothing in a cookie session: the launch storage is the database."""
        return None

    def is_secure(self) -> bool:
        """Tell whether the request came over https (cookies then go SameSite=None)."""
        return self._secure

    def get_param(self, key: str) -> str:
        """Return a parameter, or an empty string when absent."""
        return self._params.get(key, "")

    def get_cookie(self, key: str) -> str | None:
        """Return a cookie sent with the request."""
        return self._cookies.get(key)


class LtiCookies(CookieService):
    """The state cookie: set at the login, read back at the launch."""

    def __init__(self, request: LtiRequest) -> None:
        self._request = request
        self._to_set: dict[str, tuple[str, int | None]] = {}

    def _key(self, name: str) -> str:
        return f"{self._cookie_prefix}-{name}"

    def get_cookie(self, name: str) -> str | None:
        """Return one of the library's cookies."""
        return self._request.get_cookie(self._key(name))

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        """Remember a cookie to set on the response."""
        self._to_set[self._key(name)] = (str(value), exp)

    def apply(self, response: Response) -> None:
        """Set the remembered cookies.

        The launch is a form posted from the LMS's site, which a browser sends SameSite=Lax
        cookies with no longer: over https they go SameSite=None (and Secure).
        """
        secure = self._request.is_secure()
        for key, (value, exp) in self._to_set.items():
            response.set_cookie(
                key,
                value,
                max_age=exp,
                path="/lti/",
                httponly=True,
                secure=secure,
                samesite="none" if secure else "lax",
            )


class LtiSession(SessionService):
    """The library's session service over the database storage (never a cookie session)."""

    def __init__(self, storage: DatabaseLaunchStorage) -> None:
        self.data_storage = storage


class LtiRedirect(Redirect[Response]):
    """A redirect to the platform, carrying the state cookie."""

    def __init__(self, location: str, cookies: LtiCookies) -> None:
        self._location = location
        self._cookies = cookies

    def do_redirect(self) -> Response:
        """Redirect with 302, as OIDC expects of the login initiation."""
        response = RedirectResponse(self._location, status_code=302)
        self._cookies.apply(response)
        return response

    def do_js_redirect(self) -> Response:
        """Unused (tfquiz serves no inline script): a plain link instead."""
        response = HTMLResponse(f'<a href="{self._location}">Continue</a>')
        self._cookies.apply(response)
        return response

    def set_redirect_url(self, location: str) -> None:
        """Change where the redirect goes."""
        self._location = location

    def get_redirect_url(self) -> str:
        """Return where the redirect goes."""
        return self._location


class LtiLogin(OIDCLogin[LtiRequest, DatabaseToolConf, LtiSession, LtiCookies, Response]):
    """The OIDC third-party login initiation."""

    def get_redirect(self, url: str) -> Redirect[Response]:
        """Return the redirect to the platform's authentication endpoint."""
        return LtiRedirect(url, self._cookie_service)


class LtiLaunch(MessageLaunch[LtiRequest, DatabaseToolConf, LtiSession, LtiCookies]):
    """The launch: the id_token the platform's form posted."""

    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)

    def body(self) -> dict[str, Any]:
        """Return the validated id_token's claims."""
        return dict(self.get_launch_data())
