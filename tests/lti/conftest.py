"""Fixtures: a real LTI 1.3 platform on loopback, registered with the tool under test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from app.config import Settings
from app.lti.platforms import PlatformForm, add_platform
from tests.lti.platform import CLIENT_ID, DEPLOYMENT_ID, LoopbackPlatform, serve

TOOL = "http://testserver"  # where the TestClient reaches the app


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings, accepting the platform's http:// URLs on loopback."""
    # Scores are sent, and retried, within a fraction of a second.
    changes = {"lti_allow_http_loopback": True, "lti_send_interval_s": 0.1, "lti_send_retry_s": 0.2}
    return settings.model_copy(update=changes)


@pytest.fixture
def platform(app: FastAPI) -> Iterator[LoopbackPlatform]:
    """A platform served on loopback and registered with the app."""
    with serve(LoopbackPlatform(TOOL)) as running:
        form = PlatformForm(
            running.issuer,
            CLIENT_ID,
            (DEPLOYMENT_ID,),
            f"{running.issuer}/auth",
            f"{running.issuer}/token",
            f"{running.issuer}/jwks",
        )
        with app.state.db.writing() as session:
            add_platform(session, form, allow_http_loopback=True)
        yield running
