"""Static assets: fingerprinted URLs cached for a year, other URLs revalidated by ETag."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_pages_link_fingerprinted_assets_that_cache_for_a_year(client: TestClient) -> None:
    page = client.get("/").text
    url = re.search(r'href="(/static/style\.css\?v=[0-9a-f]{12})"', page)
    assert url, "the stylesheet link carries no fingerprint"
    response = client.get(url.group(1))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["etag"]


def test_a_stale_or_missing_fingerprint_is_revalidated(client: TestClient) -> None:
    for url in ("/static/style.css", "/static/style.css?v=000000000000"):
        response = client.get(url)
        assert response.headers["cache-control"] == "no-cache"
        again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304


def test_unknown_static_files_get_404(client: TestClient) -> None:
    assert client.get("/static/nope.css").status_code == 404
    assert client.get("/static/../app/config.py").status_code == 404
