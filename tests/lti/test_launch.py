"""Login initiation and launch against a real LTI 1.3 platform on loopback."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from app.models import Instructor, InstructorSession, Learner, LtiLaunchValue, LtiUser
from tests.lti.platform import LoopbackPlatform


def launch_data(
    client: TestClient, platform: LoopbackPlatform, sub: str = "learner-1", **auth: str
) -> dict[str, Any]:
    """Do the OIDC login as a browser would; return the form the platform posts back."""
    started = client.get(platform.login_url(sub), follow_redirects=False)
    assert started.status_code == 302, started.text
    to_platform = started.headers["location"]
    assert to_platform.startswith(f"{platform.issuer}/auth?")
    answered = requests.get(to_platform, params=auth, timeout=10)  # the platform, over real HTTP
    answered.raise_for_status()
    data: dict[str, Any] = answered.json()
    assert data["launch_url"] == "http://testserver/lti/launch"
    return data


def post_launch(client: TestClient, data: dict[str, Any]) -> Any:
    """Post the platform's launch form to the tool."""
    form = {"id_token": data["id_token"], "state": data["state"]}
    return client.post("/lti/launch", data=form, follow_redirects=False)


def stored(session: Session) -> tuple[int, ...]:
    """Count what a launch may store: learners, platform users, sessions, launch values."""
    session.rollback()
    tables = (Learner, LtiUser, Instructor, InstructorSession, LtiLaunchValue)
    return tuple(session.scalar(select(func.count()).select_from(t)) or 0 for t in tables)


def test_a_learner_launches_in_signed_in_as_their_lms_user(
    client: TestClient, platform: LoopbackPlatform, session: Session
) -> None:
    response = post_launch(client, launch_data(client, platform))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    home = client.get("/")
    assert "Signed in from your LMS as Grace Hopper." in home.text
    learner = session.scalars(select(Learner)).one()
    assert (learner.display_name, learner.email) == ("Grace Hopper", "grace@example.edu")
    # A second launch, later, finds the same learner.
    assert post_launch(client, launch_data(client, platform)).status_code == 303
    assert stored(session)[:2] == (1, 1)


def test_a_launch_does_not_take_over_a_learner_of_the_same_name(
    client: TestClient, platform: LoopbackPlatform, session: Session
) -> None:
    from tests.factories import start

    with TestClient(client.app) as other_browser:
        assert start(other_browser, "Grace Hopper").status_code == 200
    post_launch(client, launch_data(client, platform))
    names = sorted(session.scalars(select(Learner.display_name)))
    assert names == ["Grace Hopper", "Grace Hopper (2)"]


def test_an_instructor_launches_in_as_an_instructor(
    client: TestClient, platform: LoopbackPlatform, session: Session
) -> None:
    response = post_launch(client, launch_data(client, platform, "teacher-1"))
    assert response.headers["location"] == "/instructor/"
    dashboard = client.get("/instructor/", follow_redirects=False)
    assert dashboard.status_code == 200 and "Signed in from your LMS as Alan Kay." in dashboard.text
    instructor = session.scalars(select(Instructor)).one()
    assert instructor.email == "alan@example.edu"
    assert stored(session)[0] == 0  # no learner made for the course's teacher


def test_a_link_can_open_one_question(client: TestClient, platform: LoopbackPlatform) -> None:
    question = client.app.state.bank.questions[3]  # type: ignore[attr-defined]
    by_custom = launch_data(client, platform, custom_question=str(question.id))
    assert post_launch(client, by_custom).headers["location"] == "/questions/3"
    target = f"http://testserver/lti/launch?question={question.id}"
    started = client.get(platform.login_url("learner-1", target), follow_redirects=False)
    assert urlsplit(started.headers["location"]).netloc == urlsplit(platform.issuer).netloc
    data = requests.get(started.headers["location"], timeout=10).json()
    assert post_launch(client, data).headers["location"] == "/questions/3"


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("expired", "The id_token has expired (exp)"),
        ("wrong-audience", "issuer and audience (aud) are not a registered platform"),
        ("unknown-deployment", "This deployment of the tool is not registered"),
        ("wrong-signature", "signature does not match the platform&#39;s public keys"),
        ("no-resource-link", "The id_token has no resource link id"),
        ("wrong-azp", "authorised party (azp) &#39;other&#39; is not tfquiz"),
    ],
)
def test_a_bad_launch_is_refused_saying_why_and_stores_nothing(
    client: TestClient, platform: LoopbackPlatform, session: Session, tamper: str, message: str
) -> None:
    data = launch_data(client, platform, tamper=tamper)
    before = stored(session)
    response = post_launch(client, data)
    assert response.status_code == 400
    assert "The launch from your LMS was refused" in response.text
    assert message in response.text
    assert stored(session) == before
    assert "Signed in" not in client.get("/").text


def test_a_replayed_launch_is_refused(
    client: TestClient, platform: LoopbackPlatform, session: Session
) -> None:
    data = launch_data(client, platform)
    assert post_launch(client, data).status_code == 303
    before = stored(session)
    with TestClient(client.app) as attacker:  # even with the state cookie copied over
        attacker.cookies.update({k: v for k, v in client.cookies.items() if "lti1p3" in k})
        replayed = post_launch(attacker, data)
    assert replayed.status_code == 400
    assert "nonce is unknown, expired or already used" in replayed.text
    assert stored(session) == before


def test_a_launch_without_the_login_state_is_refused(
    client: TestClient, platform: LoopbackPlatform, session: Session
) -> None:
    data = launch_data(client, platform)
    with TestClient(client.app) as other_browser:
        response = post_launch(other_browser, data)
    assert response.status_code == 400 and "does not match this browser" in response.text


def test_a_login_from_an_unregistered_platform_is_refused(client: TestClient) -> None:
    response = client.get(
        "/lti/login", params={"iss": "https://lms.example.org", "login_hint": "x"}
    )
    assert response.status_code == 400
    assert "The sign-in from your LMS was refused" in response.text
    assert "is not registered" in response.text


def test_login_and_launch_may_reach_different_web_processes(
    client: TestClient, platform: LoopbackPlatform, settings: Settings
) -> None:
    data = launch_data(client, platform)  # the login reached this app
    other_process = create_app(settings)  # another app on the same database
    with TestClient(other_process) as other:
        other.cookies.update(client.cookies)  # the browser's state cookie
        assert post_launch(other, data).status_code == 303
    other_process.state.db.engine.dispose()
    replayed = post_launch(client, data)  # the first app knows the nonce is used up
    assert replayed.status_code == 400 and "already used" in replayed.text


def test_in_roster_mode_the_lms_link_is_the_only_way_in(
    client: TestClient, platform: LoopbackPlatform, session: Session
) -> None:
    """The LMS's enrolment is the roster: a launch gets in, a name typed at /start does not."""
    from app.classes import save_class_mode
    from tests.factories import start

    save_class_mode(session, "roster")
    session.commit()
    assert post_launch(client, launch_data(client, platform)).status_code == 303
    assert "Signed in from your LMS as Grace Hopper." in client.get("/").text
    outsider = TestClient(client.app)
    refused = start(outsider, "Mallory")
    assert refused.status_code == 422 and "this name is not on it" in refused.text
    assert [learner.display_name for learner in session.scalars(select(Learner))] == [
        "Grace Hopper"
    ]


def test_a_launch_ends_the_browsers_earlier_learner_session(
    client: TestClient, platform: LoopbackPlatform, session: Session
) -> None:
    """A shared computer: whoever signed in before is signed out, copies of the cookie too."""
    from app.models import LearnerSession
    from tests.factories import start_with_code

    start_with_code(client, "Ada")
    earlier = client.cookies["tfquiz_session"]
    assert post_launch(client, launch_data(client, platform)).status_code == 303
    assert "Signed in from your LMS as Grace Hopper." in client.get("/").text
    copy = TestClient(client.app)
    copy.cookies.set("tfquiz_session", earlier)
    assert "Start the quiz" in copy.get("/").text  # Ada's session ended on the server
    session.rollback()
    assert session.scalar(select(func.count()).select_from(LearnerSession)) == 1
