"""Every response carries the security headers; pages allow no inline script."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.factories import start


@pytest.mark.parametrize(
    "path", ["/", "/questions/3", "/api/questions", "/nope", "/static/style.css", "/healthz"]
)
def test_headers_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert re.search(r"script-src 'self';", policy), policy


def test_refused_bodies_carry_them_too(client: TestClient) -> None:
    response = client.post("/api/questions/3/answers", content=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413 and "content-security-policy" in response.headers


def test_pages_have_no_inline_script(client: TestClient) -> None:
    start(client)
    for path in ("/", "/questions/3", "/summary", "/present", "/instructor/login"):
        html = client.get(path).text
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, f"inline script on {path}: {tag}"
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {path}"


@pytest.mark.parametrize(
    "path", ["/", "/questions/3", "/api/questions", "/static/style.css", "/healthz", "/readyz"]
)
def test_head_answers_like_get_without_the_body(client: TestClient, path: str) -> None:
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))
    assert "content-security-policy" in head.headers


def test_head_keeps_the_get_status_and_refuses_what_get_refuses(client: TestClient) -> None:
    assert client.head("/nope").status_code == 404
    assert client.head("/instructor/").status_code == client.get("/instructor/").status_code
    # A route that only answers POST still refuses HEAD, as it refuses GET.
    assert client.head("/api/questions/3/answers").status_code == 405
