"""Alembic migrations: they build the models' schema, go down cleanly, and keep old data."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from app.config import Settings
from app.db import create_db_engine
from app.migrate import alembic_config, pending_revisions, upgrade_to_head
from app.models import Base
from tests.databases import fresh_database_url


def empty_engine(tmp_path: Path) -> Engine:
    """An engine on an empty database: a new SQLite file, or a new PostgreSQL database."""
    return create_db_engine(
        Settings(data_dir=tmp_path, database_url=fresh_database_url(migrated=False))
    )


def test_head_matches_the_models(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path)
    assert pending_revisions(engine)
    upgrade_to_head(engine)
    assert not pending_revisions(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_down_to_nothing_and_up_again(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path)
    config = alembic_config(engine)
    upgrade_to_head(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    upgrade_to_head(engine)
    assert not pending_revisions(engine)
    engine.dispose()


def test_attempts_recorded_before_reviews_keep_their_scores_and_points(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    breakdown = {
        "key_points": [{"id": "a", "met": True}, {"id": "b", "met": False}],
        "misconceptions": [{"id": "m"}],
    }
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO learner (display_name, name_key, created_at) "
                "VALUES ('Old', 'old', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO attempt (learner_id, question_id, question_number, content_hash, text,"
                " score, points, max_points, breakdown, created_at) VALUES (1, 'q', 3, 'h', 't',"
                " 0.5, 5, 10, :breakdown, '2026-01-01 00:00:00')"
            ),
            {"breakdown": json.dumps(breakdown)},
        )
    upgrade_to_head(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT final_score, final_points FROM attempt")).one() == (
            0.5,
            5.0,
        )
        points = connection.execute(
            text("SELECT point_id, met FROM attempt_point ORDER BY point_id")
        )
        assert points.all() == [("a", 1), ("b", 0)]
        found = connection.execute(text("SELECT misconception_id FROM attempt_misconception"))
        assert found.scalars().all() == ["m"]
    engine.dispose()


def test_failed_sign_ins_move_into_the_one_rate_limit_table_and_back(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        connection.execute(
            text(
                "INSERT INTO login_attempt (account, address, created_at) "
                "VALUES ('ada@example.org', '203.0.113.7', '2026-01-01 00:00:00')"
            )
        )
        command.upgrade(config, "0007_one_rate_limit")
        hits = connection.execute(text('SELECT bucket, "key" FROM rate_limit_hit ORDER BY bucket'))
        assert hits.all() == [
            ("login-account", "ada@example.org"),
            ("login-address", "203.0.113.7"),
        ]
        command.downgrade(config, "0006")
        assert connection.execute(text("SELECT account FROM login_attempt")).all() == [
            ("ada@example.org",)
        ]
        assert connection.execute(text("SELECT COUNT(*) FROM rate_limit_hit")).scalar() == 0
    engine.dispose()
