"""A real LTI 1.3 platform for the tests, served on loopback by uvicorn.

What is the library's: ``lti1p3platform`` builds the login initiation URL, checks the
tool's authentication request (nonce, state, redirect URI, client id), builds the launch
message and signs the id_token with the platform's RSA key, and publishes that key as a
JWKS. What is this harness's: the HTTP routes around it, the users, and the ``tamper``
switches a test uses to make a bad launch. The launch form the library would render for
a browser is answered as JSON, which the test posts to the tool as the browser would.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from jwcrypto.jwk import JWK
from lti1p3platform.lineitem import TLineItem
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as PlatformRequest
from lti1p3platform.request import TRequest
from lti1p3platform.response import Response as PlatformResponse
from lti1p3platform.score import TScore, UpdateScoreStatus
from lti1p3platform.service_connector import (
    AssignmentsGradesService,
    NamesRoleProvisioningService,
    TPage,
)

CLIENT_ID = "tfquiz-test-client"
DEPLOYMENT_ID = "deployment-1"
LEARNER_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


@dataclass
class User:
    """A person of the platform's course."""

    sub: str
    name: str
    email: str
    roles: list[str] = field(default_factory=lambda: [LEARNER_ROLE])


def rsa_pem() -> tuple[str, str]:
    """Return a new RSA key pair as (private, public) PEM."""
    key = JWK.generate(kty="RSA", size=2048)
    return (
        key.export_to_pem(private_key=True, password=None).decode(),
        key.export_to_pem().decode(),
    )


class PlatformConf(LTI1P3PlatformConfAbstract):
    """The platform's one registration: tfquiz."""

    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class Login(OIDCLoginAbstract):
    """The platform's side of the login initiation."""

    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class Launch(LTIAdvantageMessageLaunchAbstract):
    """The platform's launch: the tool's auth request in, the signed id_token out."""

    def get_preflight_response(self) -> dict[str, Any]:
        return dict(self._request)  # type: ignore[arg-type]

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return launch_data


class HarnessRequest(PlatformRequest):
    """A request as the platform library's services read it."""

    def build_metadata(self, request: Any) -> TRequest:
        return request  # type: ignore[no-any-return]


class Gradebook(AssignmentsGradesService):
    """The platform's gradebook behind the library's AGS handlers (which check the token)."""

    def __init__(self, request: HarnessRequest, platform: LoopbackPlatform) -> None:
        base = f"{platform.issuer}/lineitems"
        super().__init__(request, platform.conf(), base, f"{base}/link-1")
        self.platform = platform

    def find_lineitems(self, page: int = 1, limit: int | None = None, **kwargs: Any) -> TPage:
        return {"content": list(self.platform.lineitems.values()), "has_next": False}

    def find_lineitem(self, line_item_id: str) -> TLineItem:
        return self.platform.lineitems[line_item_id]  # type: ignore[return-value]

    def create_lineitem(self, creation_data: TLineItem) -> TLineItem:
        key = f"item-{len(self.platform.lineitems) + 1}"
        item = {**creation_data, "id": f"{self.platform.issuer}/lineitems/{key}"}
        self.platform.lineitems[key] = item
        return item  # type: ignore[return-value]

    def update_lineitem(self, update_data: TLineItem) -> TLineItem:
        raise NotImplementedError

    def delete_lineitem(self, line_item_id: str) -> None:
        raise NotImplementedError

    def update_score(self, line_item_id: str, score: TScore) -> UpdateScoreStatus:
        self.platform.scores[(line_item_id, str(score["userId"]))] = dict(score)
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id: str, **kwargs: Any) -> TPage:
        raise NotImplementedError


class Roster(NamesRoleProvisioningService):
    """The course's members behind the library's NRPS handler (which checks the token)."""

    def __init__(self, request: HarnessRequest, platform: LoopbackPlatform) -> None:
        super().__init__(request, platform.conf(), f"{platform.issuer}/memberships")
        self.platform = platform

    def get_member_data_page(self, page: int = 1, limit: int | None = None, **kw: Any) -> TPage:
        members = [
            {"user_id": u.sub, "name": u.name, "email": u.email, "roles": u.roles}
            for u in self.platform.users.values()
        ]
        return {"content": members, "has_next": False}

    def get_context_by_id(self) -> Context:
        return Context(id="course-1", label="TF101", title="Custom models in TensorFlow")


async def service_request(request: Request) -> HarnessRequest:
    """Wrap an HTTP request for the library's service handlers."""
    body = await request.body()
    return HarnessRequest(
        {
            "method": request.method,
            "form_data": {},
            "get_data": dict(request.query_params),
            "headers": request.headers,
            "content_type": request.headers.get("content-type"),
            "path": request.url.path,
            "json": json.loads(body) if body else None,
        }
    )


def answer(response: PlatformResponse, body: Any = None) -> JSONResponse:
    """Turn a library service response into HTTP."""
    if response.code >= 400:
        raise HTTPException(response.code, response.message)
    content = response.result if body is None else body
    return JSONResponse(content, status_code=response.code, media_type=response.media_type)


def forge(id_token: str, **claims: Any) -> str:
    """Change claims of a signed id_token, keeping its signature (which then fails)."""
    header, body, signature = id_token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    decoded.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


class LoopbackPlatform:
    """The platform's state: its key, its registration of tfquiz and its users."""

    def __init__(self, tool_base: str) -> None:
        self.private_pem, self.public_pem = rsa_pem()
        self.issuer = ""  # known once the server has a port
        self.tool_base = tool_base
        self.users = {
            "learner-1": User("learner-1", "Grace Hopper", "grace@example.edu"),
            "teacher-1": User("teacher-1", "Alan Kay", "alan@example.edu", [INSTRUCTOR_ROLE]),
            # On the course's roster, never launches.
            "learner-2": User("learner-2", "Ada Lovelace", "ada@example.edu"),
        }
        self.roster_calls = 0
        self.content_items: list[dict[str, Any]] = []  # what deep-linking replies added
        self.offer_roster = False  # off: the roster would add learners behind a test's back
        self.target: str | None = None
        self.tool_jwks: dict[str, Any] | None = None  # the tool's /lti/jwks, as fetched
        self.down = False  # while set, the token and score endpoints answer 503
        self.lineitems: dict[str, dict[str, Any]] = {}
        self.scores: dict[tuple[str, str], dict[str, Any]] = {}
        self.app = self._build()

    def registration(self, client_id: str = CLIENT_ID) -> Registration:
        """Return the platform's registration of tfquiz."""
        return (
            Registration()
            .set_iss(self.issuer)
            .set_client_id(client_id)
            .set_deployment_id(DEPLOYMENT_ID)
            .set_oidc_login_url(f"{self.tool_base}/lti/login")
            .set_launch_url(f"{self.tool_base}/lti/launch")
            .set_platform_public_key(self.public_pem)
            .set_platform_private_key(self.private_pem)
            .set_tool_key_set_url(f"{self.tool_base}/lti/jwks")
            .set_tool_key_set(self.tool_jwks)  # type: ignore[arg-type]
            .set_deeplink_launch_url(f"{self.tool_base}/lti/launch")
        )

    def conf(self) -> PlatformConf:
        """Return the library's platform configuration."""
        return PlatformConf(registration=self.registration())

    def login_url(self, sub: str, target: str | None = None) -> str:
        """Return the tool's login initiation URL for a user, as the platform builds it."""
        login = Login(None, self.conf())
        login.set_lti_message_hint(hint=sub)
        self.target = target  # the resource link's target, which the launch claims again
        if target:
            login.set_launch_url(target)
        return str(login.prepare_preflight_url(sub))

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            conf = self.conf()
            conf.get_registration()
            return dict(conf.get_jwks())

        @app.get("/auth")
        def auth(request: Request) -> dict[str, Any]:
            params = dict(request.query_params)
            tamper = params.pop("tamper", "")
            custom = params.pop("custom_question", "")
            deep_link = params.pop("deep_link", "")
            user = self.users[params["login_hint"]]
            launch = Launch(params, self.conf())
            if self.target:
                launch.set_launch_url(self.target)
            launch.set_user_data(user.sub, user.roles, user.name, user.email)
            if tamper != "no-resource-link":
                launch.set_resource_link_claim("link-1", title="Quiz")
            if custom:
                launch.set_custom_parameters_claim({"question": custom})
            base = f"{self.issuer}/lineitems"
            self.lineitems.setdefault(
                "link-1",
                {"id": f"{base}/link-1", "label": "Quiz", "scoreMaximum": 100,
                 "resourceLinkId": "link-1"},
            )  # fmt: skip
            launch.set_ags(base, f"{base}/link-1", allow_creating_lineitems=True)
            if self.offer_roster:
                launch.set_nrps(f"{self.issuer}/memberships")
            if deep_link:
                launch.set_dl(f"{self.issuer}/deep-link-return", title="Add tfquiz")
            if tamper == "expired":
                launch.set_id_token_expiration(-120)
            extra = {
                "wrong-audience": {"aud": "someone-else"},
                "unknown-deployment": {
                    "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "not-registered"
                },
                "wrong-azp": {"aud": [CLIENT_ID, "other"], "azp": "other"},
            }.get(tamper)
            if extra:
                launch.set_extra_claims(extra)
            data = launch.lti_launch()
            if tamper == "wrong-signature":
                data["id_token"] = forge(data["id_token"], sub="teacher-1")
            return data

        @app.post("/token")
        async def token(request: Request) -> dict[str, Any]:
            if self.down:
                raise HTTPException(503, "the platform is down")
            form = dict((await request.form()).items())
            conf = self.conf()
            conf.get_registration()
            return dict(conf.get_access_token(form))  # checks the tool's signed assertion

        @app.get("/lineitems")
        async def lineitems(request: Request) -> JSONResponse:
            page = Gradebook(await service_request(request), self).handle_get_lineitems()
            return answer(page, page.result["content"] if page.code < 400 else None)

        @app.post("/lineitems")
        async def create(request: Request) -> JSONResponse:
            return answer(Gradebook(await service_request(request), self).handle_create_lineitem())

        @app.post("/lineitems/{item}/scores")
        async def score(item: str, request: Request) -> JSONResponse:
            if self.down:
                raise HTTPException(503, "the platform is down")
            book = Gradebook(await service_request(request), self)
            return answer(book.handle_update_score(item), {})

        @app.post("/deep-link-return")
        async def deep_link_return(request: Request) -> list[dict[str, Any]]:
            form = dict((await request.form()).items())
            conf = self.conf()
            conf.get_registration()
            items = conf.validate_deeplinking_resp(form)  # checks the tool's signature
            self.content_items.extend(items)
            return items

        @app.get("/memberships")
        async def memberships(request: Request) -> JSONResponse:
            self.roster_calls += 1
            return answer(Roster(await service_request(request), self).handle_get_members())

        return app

    def score_of(self, sub: str, item: str = "link-1") -> dict[str, Any] | None:
        """Return the gradebook's score of a user on a line item."""
        return self.scores.get((item, sub))


def free_port() -> int:
    """Return a loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(platform: LoopbackPlatform) -> Iterator[LoopbackPlatform]:
    """Serve the platform on loopback in a thread for the duration of the block."""
    port = free_port()
    platform.issuer = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(platform.app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="lti-test-platform", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test platform did not start"
        time.sleep(0.02)
    try:
        yield platform
    finally:
        server.should_exit = True
        thread.join(10)
