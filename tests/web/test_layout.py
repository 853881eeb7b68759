"""The shape of app/: route modules share plumbing through app.web, never each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT

ROUTES = PROJECT_ROOT / "app" / "routes"
ROUTE_MODULES = sorted(p for p in ROUTES.glob("*.py") if p.name != "__init__.py")


def imported_modules(path: Path) -> set[str]:
    """Return every module a file imports, as dotted names (from-imports with their names)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", ROUTE_MODULES, ids=lambda p: p.stem)
def test_a_route_module_imports_no_other_route_module(path: Path) -> None:
    others = {f"app.routes.{p.stem}" for p in ROUTE_MODULES} - {f"app.routes.{path.stem}"}
    assert not imported_modules(path) & (others | {"app.routes"})
