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


def engine_at(tmp_path: Path, revision: str) -> Engine:
    """Return a fresh database migrated up to ``revision``, to fill with old rows."""
    engine = empty_engine(tmp_path)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return engine


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
    engine = engine_at(tmp_path, "0002")
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


def test_rows_recorded_by_number_are_keyed_by_the_question_uuid(tmp_path: Path) -> None:
    engine = engine_at(tmp_path, "0006")
    # Question "qa" was number 1 and "qb" number 2, until the files were renumbered in
    # February and "qb" became number 1.
    attempts = [(1, "qa", 1, "2026-01-01"), (2, "qb", 2, "2026-01-02"), (3, "qb", 1, "2026-03-01")]
    runs = [(1, 1, "2026-02-01"), (2, 1, "2026-04-01"), (3, 2, "2025-12-01"), (4, 7, "2026-01-05")]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO learner (display_name, name_key, created_at) "
                "VALUES ('Old', 'old', '2026-01-01 00:00:00')"
            )
        )
        for attempt_id, question_id, number, day in attempts:
            connection.execute(
                text(
                    "INSERT INTO attempt (id, learner_id, question_id, question_number,"
                    " content_hash, text, score, points, max_points, breakdown, created_at,"
                    " final_score, final_points) VALUES (:id, 1, :qid, :number, 'h', 't', 0.5, 5,"
                    " 10, '{}', :at, 0.5, 5)"
                ),
                {"id": attempt_id, "qid": question_id, "number": number, "at": f"{day} 12:00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO attempt_point (attempt_id, point_id, question_number, met)"
                    " VALUES (:id, 'p', :number, false)"
                ),
                {"id": attempt_id, "number": number},
            )
            connection.execute(
                text(
                    "INSERT INTO attempt_misconception (attempt_id, misconception_id,"
                    " question_number) VALUES (:id, 'm', :number)"
                ),
                {"id": attempt_id, "number": number},
            )
        for run_id, number, day in runs:
            connection.execute(
                text(
                    "INSERT INTO playground_run (id, question_number, demo_index, code, code_hash,"
                    " status, created_at) VALUES (:id, :number, 1, 'x', 'h', 'ok', :at)"
                ),
                {"id": run_id, "number": number, "at": f"{day} 12:00:00"},
            )
    upgrade_to_head(engine)
    with engine.connect() as connection:
        for table in ("attempt_point", "attempt_misconception"):
            rows = connection.execute(
                text(f"SELECT attempt_id, question_id, question_number FROM {table} ORDER BY 1")
            )
            assert rows.all() == [(1, "qa", 1), (2, "qb", 2), (3, "qb", 1)]
        runs_found = connection.execute(
            text("SELECT id, question_id, question_number FROM playground_run ORDER BY id")
        )
        # The last attempt under the run's number at or before it, else the first after it;
        # a number no attempt ever had leaves the uuid unknown.
        assert runs_found.all() == [(1, "qa", 1), (2, "qb", 1), (3, "qb", 2), (4, None, 7)]
    engine.dispose()


def test_decided_claims_are_paired_with_the_score_change_their_decision_left(
    tmp_path: Path,
) -> None:
    engine = engine_at(tmp_path, "0006")
    decided, other = "2026-01-02 10:00:00", "2026-01-02 11:00:00"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO learner (display_name, name_key, created_at) "
                "VALUES ('Old', 'old', '2026-01-01 00:00:00')"
            )
        )
        for attempt_id in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO attempt (id, learner_id, question_id, question_number,"
                    " content_hash, text, score, points, max_points, breakdown, created_at,"
                    " final_score, final_points) VALUES (:id, 1, 'q', 3, 'h', 't', 0.5, 5, 10,"
                    " '{}', '2026-01-01 00:00:00', 0.5, 5)"
                ),
                {"id": attempt_id},
            )
        changes = [
            (1, 1, "override", decided),  # same time, but not a claim's kind
            (2, 1, "claim", decided),  # claim 1's acceptance
            (3, 2, "claim-rejected", other),  # claim 2's rejection
            (4, 2, "claim", decided),  # another attempt's change at claim 1's time
        ]
        for change_id, attempt_id, kind, at in changes:
            connection.execute(
                text(
                    "INSERT INTO score_change (id, attempt_id, kind, old_score, new_score,"
                    " comment, created_at) VALUES (:id, :attempt, :kind, 0.5, 0.6, '', :at)"
                ),
                {"id": change_id, "attempt": attempt_id, "kind": kind, "at": at},
            )
        claims = [
            (1, 1, "a", "accepted", decided),
            (2, 2, "b", "rejected", other),
            (3, 2, "c", "pending", None),
        ]
        for claim_id, attempt_id, point, status, at in claims:
            connection.execute(
                text(
                    "INSERT INTO claim (id, attempt_id, point_id, justification, status,"
                    " created_at, decided_at) VALUES (:id, :attempt, :point, 'j', :status,"
                    " '2026-01-02 09:00:00', :at)"
                ),
                {"id": claim_id, "attempt": attempt_id, "point": point, "status": status, "at": at},
            )
    upgrade_to_head(engine)
    with engine.connect() as connection:
        paired = connection.execute(text("SELECT id, score_change_id FROM claim ORDER BY id"))
        assert paired.all() == [(1, 2), (2, 3), (3, None)]
    engine.dispose()


def test_failed_sign_ins_move_into_the_one_rate_limit_table_and_back(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0008")
        connection.execute(
            text(
                "INSERT INTO login_attempt (account, address, created_at) "
                "VALUES ('ada@example.org', '203.0.113.7', '2026-01-01 00:00:00')"
            )
        )
        command.upgrade(config, "0009")
        hits = connection.execute(text('SELECT bucket, "key" FROM rate_limit_hit ORDER BY bucket'))
        assert hits.all() == [
            ("login-account", "ada@example.org"),
            ("login-address", "203.0.113.7"),
        ]
        command.downgrade(config, "0008")
        assert connection.execute(text("SELECT account FROM login_attempt")).all() == [
            ("ada@example.org",)
        ]
        assert connection.execute(text("SELECT COUNT(*) FROM rate_limit_hit")).scalar() == 0
    engine.dispose()


def test_learners_from_before_codes_get_skeletons_and_look_alikes_never_block(
    tmp_path: Path,
) -> None:
    engine = engine_at(tmp_path, "0009")
    config = alembic_config(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO learner (id, display_name, name_key, created_at) VALUES "
                "(1, 'Bob Victim', 'bob victim', '2026-11-01 09:00:00'), "
                "(2, 'Bob V\u0456ctim', 'bob v\u0456ctim', '2026-11-01 09:05:00'), "
                "(3, 'Ada', 'ada', '2026-11-01 09:10:00')"
            )
        )
        config.attributes["connection"] = connection
        command.upgrade(config, "0012_learner_sessions")
        rows = connection.execute(
            text("SELECT learner_id, skeleton, code_hash FROM learner_identity ORDER BY 1")
        ).all()
        assert rows == [(1, "bob victirn", None), (2, None, None), (3, "ada", None)]
        command.downgrade(config, "0009")
        assert "learner_identity" not in inspect(connection).get_table_names()
    engine.dispose()
