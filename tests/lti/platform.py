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
from fastapi import FastAPI, Request
from jwcrypto.jwk import JWK
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration

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
        }
        self.target: str | None = None
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
            user = self.users[params["login_hint"]]
            launch = Launch(params, self.conf())
            if self.target:
                launch.set_launch_url(self.target)
            launch.set_user_data(user.sub, user.roles, user.name, user.email)
            if tamper != "no-resource-link":
                launch.set_resource_link_claim("link-1", title="Quiz")
            if custom:
                launch.set_custom_parameters_claim({"question": custom})
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

        return app


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
