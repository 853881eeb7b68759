"""Deep Linking: an instructor picks, from the LMS, the whole quiz or one question."""

from __future__ import annotations

import re

import requests
from fastapi.testclient import TestClient

from tests.factories import csrf
from tests.lti.platform import LoopbackPlatform
from tests.lti.test_launch import launch_data, post_launch

FORM = re.compile(r'<form class="card form" method="post" action="([^"]+)">\s*'
                  r'<input type="hidden" name="JWT" value="([^"]+)">')  # fmt: skip


def test_an_instructor_picks_one_question_and_the_lms_gets_a_signed_link(
    client: TestClient, platform: LoopbackPlatform
) -> None:
    platform.tool_jwks = client.get("/lti/jwks").json()
    picker = post_launch(client, launch_data(client, platform, "teacher-1", deep_link="1"))
    assert picker.status_code == 200 and "What should this link open?" in picker.text
    question = client.app.state.bank.questions[3]  # type: ignore[attr-defined]
    assert f'value="{question.id}"' in picker.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', picker.text)
    assert token is not None
    form = {"choice": str(question.id), "csrf_token": token.group(1)}
    reply = client.post("/lti/deep-link", data=form)
    assert reply.status_code == 200, reply.text
    found = FORM.search(reply.text)
    assert found is not None and found.group(1) == f"{platform.issuer}/deep-link-return"
    assert f"form-action 'self' {platform.issuer}" in reply.headers["content-security-policy"]
    # The browser posts the reply; the platform checks the tool's signature on it.
    items = requests.post(found.group(1), data={"JWT": found.group(2)}, timeout=10).json()
    assert items == [
        {
            "type": "ltiResourceLink",
            "title": f"Question 3: {question.title}",
            "url": f"http://testserver/lti/launch?question={question.id}",
            "custom": {"question": str(question.id)},
        }
    ]
    again = client.post("/lti/deep-link", data={"choice": "quiz", "csrf_token": csrf(client)})
    assert again.status_code == 400 and "no link being added" in again.text


def test_a_learner_cannot_add_links(client: TestClient, platform: LoopbackPlatform) -> None:
    refused = post_launch(client, launch_data(client, platform, "learner-1", deep_link="1"))
    assert refused.status_code == 400
    assert "Only an instructor can choose what a link opens." in refused.text
