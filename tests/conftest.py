"""Fixtures: each test gets its own migrated SQLite file, settings, app and client."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import PROJECT_ROOT, Settings
from app.db import create_db_engine
from app.main import create_app
from app.migrate import upgrade_to_head
from tests.databases import drop_created, fresh_database_url

DB_NAME = "tfquiz.sqlite3"


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file per test run; tests copy it rather than migrate again."""
    folder = tmp_path_factory.mktemp("template")
    engine = create_db_engine(Settings(data_dir=folder))
    upgrade_to_head(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return folder / DB_NAME


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Drop the PostgreSQL databases the run created (nothing to do on SQLite)."""
    yield
    drop_created()


@pytest.fixture
def settings(tmp_path: Path, migrated_db: Path) -> Settings:
    """Settings pointing at a fresh copy of the migrated database (SQLite or PostgreSQL)."""
    shutil.copy(migrated_db, tmp_path / DB_NAME)
    return Settings(
        data_dir=tmp_path,
        database_url=fresh_database_url(),
        questions_dir=PROJECT_ROOT / "questions",
        secret_key="test-secret-key-that-is-long-enough-1234567890",
        demo_workers=0,  # tests that run demos ask for workers themselves
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """The app under test; its connections are closed afterwards, lifespan or not."""
    application = create_app(settings)
    yield application
    application.state.db.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client with the app's lifespan running."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def session(app: FastAPI) -> Iterator[Session]:
    """A read session on the test's database, to check what was stored."""
    with app.state.db.reading() as db_session:
        yield db_session


@pytest.fixture
def instructor_client(app: FastAPI, client: TestClient) -> TestClient:
    """The client, signed in as an instructor."""
    from tests.factories import make_instructor, sign_in

    make_instructor(app)
    assert sign_in(client).status_code == 303
    return client
