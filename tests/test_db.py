"""The SQLite connection settings every engine applies."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings
from app.db import create_db_engine

SYNCHRONOUS_LEVELS = {"normal": 1, "full": 2}  # what PRAGMA synchronous reads back


@pytest.mark.parametrize("level", ["normal", "full"])
def test_sqlite_connections_use_wal_and_the_chosen_sync_level(tmp_path: Path, level: str) -> None:
    engine = create_db_engine(Settings(data_dir=tmp_path, sqlite_synchronous=level))
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == SYNCHRONOUS_LEVELS[level]
            assert pragma("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_an_unknown_sync_level_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'normal' or 'full'"):
        Settings(data_dir=tmp_path, sqlite_synchronous="off")  # type: ignore[arg-type]
