"""Static assets with fingerprinted URLs: cached for a year, and a new URL when they change."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

LONG_CACHE = "public, max-age=31536000, immutable"


def fingerprint_files(folder: Path) -> dict[str, str]:
    """Return a short content hash for every file under ``folder``, by relative path."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class FingerprintedStatic(StaticFiles):
    """Serve files with ETags; a URL carrying the current fingerprint may be cached forever."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        self.fingerprints = fingerprint_files(directory)

    def url(self, path: str) -> str:
        """Return the fingerprinted URL of a static file."""
        version = self.fingerprints.get(path)
        return f"/static/{path}?v={version}" if version else f"/static/{path}"

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Add Cache-Control: long for a current fingerprint, revalidate otherwise."""
        response = await super().get_response(path, scope)
        query = scope.get("query_string", b"").decode("latin-1")
        current = self.fingerprints.get(path.replace("\\", "/"))
        fresh = current is not None and query == f"v={current}"
        response.headers["Cache-Control"] = LONG_CACHE if fresh else "no-cache"
        return response


def url_for_with_static(static: FingerprintedStatic) -> Any:
    """Build a template ``url_for`` that gives static files their fingerprinted URL."""

    @pass_context
    def url_for(context: dict[str, Any], name: str, /, **params: Any) -> Any:
        if name == "static":
            return static.url(str(params["path"]))
        return context["request"].url_for(name, **params)

    return url_for
