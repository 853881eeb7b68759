"""app.web.pages: one safe_next, one render, one redirect with a flash."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.web.pages import safe_next
from tests.factories import csrf, start_with_code

REFUSED = [
    None,
    "",
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/a//evil.example",
]


@pytest.mark.parametrize("url", REFUSED)
def test_safe_next_refuses_what_could_leave_the_site(url: str | None) -> None:
    assert safe_next(url) == "/"
    assert safe_next(url, home="/instructor/", under="/instructor") == "/instructor/"


@pytest.mark.parametrize("url", ["/", "/questions/3", "/summary?x=1", "/?next=/summary"])
def test_safe_next_keeps_a_local_path(url: str) -> None:
    assert safe_next(url) == url


def test_safe_next_keeps_instructors_under_their_pages() -> None:
    back = {"home": "/instructor/", "under": "/instructor"}
    assert safe_next("/instructor/review", **back) == "/instructor/review"
    assert safe_next("/questions/3", **back) == "/instructor/"


def test_a_redirect_leaves_its_flash_for_the_next_page_only(client: TestClient) -> None:
    code = start_with_code(TestClient(client.app), "Ada")
    token = csrf(client, "/continue")
    started = client.post(
        "/continue",
        data={"name": "Ada", "code": code, "next": "//evil.example", "csrf_token": token},
        follow_redirects=False,
    )
    assert started.status_code == 303 and started.headers["location"] == "/"
    page = client.get("/")
    assert "Welcome back, Ada." in page.text and page.headers["cache-control"] == "no-store"
    assert "Welcome back, Ada." not in client.get("/").text
