"""The database each test runs against: an SQLite file, or a fresh PostgreSQL database.

`make test` runs the suite twice; the second pass sets TFQUIZ_TEST_DATABASE=postgres and
TFQUIZ_TEST_POSTGRES_URL (see .ci/postgres), and every test then gets its own database,
copied from a migrated template in a few milliseconds.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.db import create_db_engine
from app.migrate import upgrade_to_head

TEMPLATE = "tfquiz_template"
_created: list[str] = []
_template_ready = False


def on_postgres() -> bool:
    """Tell whether this test run targets PostgreSQL."""
    return os.environ.get("TFQUIZ_TEST_DATABASE") == "postgres"


def _admin_url() -> str:
    url = os.environ.get("TFQUIZ_TEST_POSTGRES_URL")
    if not url:
        pytest.fail(
            "TFQUIZ_TEST_DATABASE=postgres needs TFQUIZ_TEST_POSTGRES_URL "
            '(export TFQUIZ_TEST_POSTGRES_URL="$(bash .ci/postgres)")'
        )
    return url


def _run_admin(*statements: str) -> None:
    engine = create_engine(_admin_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def _database_url(name: str) -> str:
    return make_url(_admin_url()).set(database=name).render_as_string(hide_password=False)


def fresh_database_url(migrated: bool = True) -> str | None:
    """Return a new PostgreSQL database's URL (migrated or empty); None on SQLite."""
    global _template_ready
    if not on_postgres():
        return None
    if migrated and not _template_ready:
        _run_admin(
            f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)", f"CREATE DATABASE {TEMPLATE}"
        )
        engine = create_db_engine(Settings(database_url=_database_url(TEMPLATE)))
        upgrade_to_head(engine)
        engine.dispose()
        _template_ready = True
    name = f"tfquiz_test_{uuid.uuid4().hex[:16]}"
    _run_admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE if migrated else 'template0'}")
    _created.append(name)
    return _database_url(name)


def database_env(migrated: bool = True) -> dict[str, str]:
    """Return the environment that points a tfquiz process at a fresh database."""
    url = fresh_database_url(migrated)
    return {"TFQUIZ_DATABASE_URL": url} if url else {}


def drop_created() -> None:
    """Drop every database this run created."""
    if on_postgres() and _created:
        _run_admin(*(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in _created))
        _created.clear()


def migrate(settings: Settings) -> None:
    """Bring a test's database to the newest schema, closing every connection afterwards."""
    engine = create_db_engine(settings)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
