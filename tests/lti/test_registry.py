"""The platform registry (CLI and instructor page) and the tool's keys at /lti/jwks."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.lti.keys import KEY_FILE
from app.main import create_app
from app.models import LtiDeployment, LtiPlatform
from tests.factories import post_form
from tests.test_cli import run

PLATFORM = {
    "--issuer": "https://moodle.example.edu",
    "--client-id": "tfquiz-client",
    "--login-url": "https://moodle.example.edu/mod/lti/auth.php",
    "--token-url": "https://moodle.example.edu/mod/lti/token.php",
    "--jwks-url": "https://moodle.example.edu/mod/lti/certs.php",
}


def cli_env(settings: Settings) -> dict[str, str]:
    """Point a CLI process at the test's data folder and database."""
    return {
        "TFQUIZ_DATA_DIR": str(settings.data_dir),
        "TFQUIZ_DATABASE_URL": settings.resolved_database_url,
    }


def add_args(**changes: str) -> list[str]:
    """Return `tfquiz lti add-platform` arguments, with some changed."""
    options = {**PLATFORM, **{f"--{k.replace('_', '-')}": v for k, v in changes.items()}}
    args = ["lti", "add-platform", "--deployment-id", "1", "--deployment-id", "course-7"]
    for option, value in options.items():
        args += [option, value]
    return args


def platform_count(session: Session) -> int:
    """Count the registered platforms and deployments together, as stored now."""
    session.rollback()  # a fresh snapshot, not the one an earlier count read
    platforms = session.scalar(select(func.count()).select_from(LtiPlatform)) or 0
    deployments = session.scalar(select(func.count()).select_from(LtiDeployment)) or 0
    return platforms + deployments


def test_the_cli_registers_lists_and_removes_a_platform(settings: Settings) -> None:
    env = cli_env(settings)
    added = run(*add_args(), env=env)
    assert added.returncode == 0, added.stderr
    issuer = "https://moodle.example.edu"
    assert f"Platform 1 registered: {issuer} (client tfquiz-client)" in added.stdout
    listed = run("lti", "list", env=env)
    assert f"{issuer}\tclient tfquiz-client\tdeployments 1, course-7" in listed.stdout
    assert "token https://moodle.example.edu/mod/lti/token.php" in listed.stdout
    again = run(*add_args(), env=env)
    assert again.returncode == 1
    assert f"issuer {issuer} and client id tfquiz-client is already" in again.stderr
    removed = run("lti", "remove", "1", env=env)
    assert removed.returncode == 0 and f"Platform 1 ({issuer}) removed" in removed.stdout
    assert "No platform is registered" in run("lti", "list", env=env).stdout
    gone = run("lti", "remove", "1", env=env)
    assert gone.returncode == 1 and "There is no registered platform 1." in gone.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jwks_url": "http://moodle.example.edu/certs"}, "key set URL must start with https://"),
        ({"login_url": "https://user:pw@moodle.example.edu/"}, "must not carry a user name"),
        ({"issuer": "https://moodle.example.edu/?x=1"}, "issuer must not have a ?query"),
        ({"token_url": "https://"}, "token URL has no host name"),
        ({"token_url": "https://moodle.example.edu:99999/"}, "token URL is not a valid URL"),
        ({"client_id": "  "}, "Please give the client id."),
        ({"client_id": "a\u200bb"}, "client id must be at most 255 printable characters"),
        ({"issuer": "http://127.0.0.1:9/"}, "issuer must start with https://"),
    ],
)
def test_the_cli_refuses_bad_input_and_stores_nothing(
    settings: Settings, session: Session, change: dict[str, str], message: str
) -> None:
    result = run(*add_args(**change), env=cli_env(settings))
    assert result.returncode == 1
    assert message in result.stderr
    assert platform_count(session) == 0


def test_loopback_http_is_accepted_only_when_allowed(settings: Settings) -> None:
    env = {**cli_env(settings), "TFQUIZ_LTI_ALLOW_HTTP_LOOPBACK": "true"}
    loopback = run(*add_args(jwks_url="http://127.0.0.1:8123/jwks"), env=env)
    assert loopback.returncode == 0, loopback.stderr
    elsewhere = run(*add_args(client_id="other", jwks_url="http://10.0.0.1/jwks"), env=env)
    assert "key set URL must start with https://" in elsewhere.stderr


def test_the_instructor_page_registers_and_removes_a_platform(
    instructor_client: TestClient, session: Session
) -> None:
    fields = {k[2:].replace("-", "_"): v for k, v in PLATFORM.items()}
    page = "/instructor/lti"
    two = {**fields, "deployment_ids": "1\r\ncourse-7\r\n"}
    added = post_form(instructor_client, page, two, page)
    assert added.status_code == 303
    shown = instructor_client.get(page).text
    assert "Platform https://moodle.example.edu registered." in shown
    assert "<code>1</code>, <code>course-7</code>" in shown
    duplicate = post_form(instructor_client, page, {**fields, "deployment_ids": "9"}, page)
    assert duplicate.status_code == 422
    assert "is already registered" in duplicate.text
    assert 'value="https://moodle.example.edu/mod/lti/auth.php"' in duplicate.text  # kept
    none = {**fields, "client_id": "x", "deployment_ids": ""}
    bad = post_form(instructor_client, page, none, page)
    assert bad.status_code == 422 and "Please give at least one deployment id." in bad.text
    assert platform_count(session) == 3  # the first platform and its two deployments only
    platform_id = session.scalars(select(LtiPlatform.id)).one()
    removed = post_form(instructor_client, f"{page}/{platform_id}/remove", {}, page)
    assert removed.status_code == 303
    assert "Platform https://moodle.example.edu removed." in instructor_client.get(page).text
    assert platform_count(session) == 0


def test_the_instructor_page_needs_an_instructor(client: TestClient) -> None:
    response = client.get("/instructor/lti", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/instructor/login")


def sign_with(private: dict[str, object], payload: bytes = b"message") -> str:
    """Sign a payload with a private JWK, as the tool signs its service-token requests."""
    token = JWS(payload)
    key = JWK(**private)
    token.add_signature(key, alg="RS256", protected={"alg": "RS256", "kid": key.get("kid")})
    return str(token.serialize(compact=True))


def verifies(jwks: dict[str, list[dict[str, object]]], token: str) -> bool:
    """Tell whether a compact JWS verifies against a key of the key set with its kid."""
    parsed = JWS()
    parsed.deserialize(token)
    kid = parsed.jose_header["kid"]
    for key in jwks["keys"]:
        if key["kid"] == kid:
            parsed.verify(JWK(**key))
            return True
    return False


def test_the_key_pair_is_made_once_private_and_rotates_with_overlap(
    settings: Settings, client: TestClient
) -> None:
    key_file = settings.data_dir / KEY_FILE
    assert not key_file.exists()  # nothing is made before it is needed
    first = client.get("/lti/jwks")
    assert first.status_code == 200 and "max-age=300" in first.headers["cache-control"]
    keys = first.json()["keys"]
    assert [(k["kty"], k["alg"], k["use"]) for k in keys] == [("RSA", "RS256", "sig")]
    assert "d" not in keys[0] and "p" not in keys[0]  # the public half only
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    other_process = create_app(settings)  # a second web process reads the same key
    with TestClient(other_process) as second:
        assert second.get("/lti/jwks").json() == first.json()
    other_process.state.db.engine.dispose()
    old_private = json.loads(key_file.read_text())["keys"][0]["jwk"]
    signed_before = sign_with(old_private)

    rotated = run("lti", "rotate-key", env=cli_env(settings))
    assert rotated.returncode == 0, rotated.stderr
    assert f"The previous key {keys[0]['kid']} stays in /lti/jwks for 72 h" in rotated.stdout
    after = client.get("/lti/jwks").json()
    assert [k["kid"] for k in after["keys"]][1:] == [keys[0]["kid"]]
    assert verifies(after, signed_before)  # a platform that cached the old key still checks
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # Once the overlap has passed (the file's retirement time moved back, as time would),
    # the old key is no longer published, and the next rotation drops it from the file.
    stored = json.loads(key_file.read_text())
    long_ago = datetime.now(UTC) - timedelta(hours=73)
    stored["keys"][1]["retired_at"] = long_ago.isoformat()
    key_file.write_text(json.dumps(stored))
    published = client.get("/lti/jwks").json()
    assert [k["kid"] for k in published["keys"]] == [after["keys"][0]["kid"]]
    assert not verifies(published, signed_before)
    run("lti", "rotate-key", env=cli_env(settings))
    assert len(json.loads(key_file.read_text())["keys"]) == 2


def test_rotating_from_the_instructor_page(instructor_client: TestClient) -> None:
    before = instructor_client.get("/lti/jwks").json()["keys"][0]["kid"]
    page = "/instructor/lti"
    assert post_form(instructor_client, f"{page}/rotate-key", {}, page).status_code == 303
    shown = instructor_client.get(page).text
    now = instructor_client.get("/lti/jwks").json()["keys"]
    assert f"New tool key {now[0]['kid']}." in shown and now[1]["kid"] == before
