"""Engine and sessions: SQLite tuned for concurrent writers, one session per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.datafiles import make_private_dir, make_private_sqlite
from app.writelock import WriterTurns

BEGIN_OPTION = "tfquiz_begin"
WRITE_LOCK = 0x7F0A1  # the advisory lock id that serialises tfquiz's write transactions


def create_db_engine(settings: Settings) -> Engine:
    """Create the engine; on SQLite turn on WAL, foreign keys and a busy timeout."""
    url = settings.resolved_database_url
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        make_private_dir(settings.data_dir)
        make_private_sqlite(Path(database))
    timeout = settings.sqlite_busy_timeout_ms
    synchronous = settings.sqlite_synchronous.upper()

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout)}")
        # In WAL mode NORMAL syncs at checkpoints, not at each commit: a commit survives the
        # server being killed, and only a power cut can lose the last few (FULL keeps those).
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # A write transaction that starts DEFERRED and later upgrades fails at once with
        # "database is locked" under contention; IMMEDIATE waits on busy_timeout instead.
        mode = connection.get_execution_options().get(BEGIN_OPTION, "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def open_database(settings: Settings) -> Database:
    """Create the engine and the Database around it, with the configured write timeout."""
    return Database(create_db_engine(settings), settings.sqlite_busy_timeout_ms / 1000)


def _lock_file(engine: Engine) -> Path | None:
    """Return the lock file beside an SQLite database file; None for one in memory."""
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).with_name(Path(name).name + "-writer")


class Database:
    """Hands out read and write sessions bound to one engine."""

    def __init__(self, engine: Engine, write_timeout_s: float = 5.0) -> None:
        self.engine = engine
        # SQLite writers take turns (app.writelock) rather than meet at SQLite's own lock,
        # whose busy handler sleeps for ever longer spells while another writer holds it.
        self._sqlite_writers = (
            WriterTurns(_lock_file(engine), write_timeout_s)
            if engine.dialect.name == "sqlite"
            else None
        )
        self._read = sessionmaker(engine, expire_on_commit=False)
        writer = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        self._write = sessionmaker(writer, expire_on_commit=False)

    def read_session(self) -> Session:
        """Return a new session for reads, which write nothing; the caller closes it."""
        return self._read()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Yield a session for reads; it never commits."""
        with self._read() as session:
            yield session

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        if self._sqlite_writers is None:
            yield
            return
        with self._sqlite_writers.turn():
            yield

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """Yield a session whose transaction takes the write lock up front, then commit.

        SQLite takes it with BEGIN IMMEDIATE. On PostgreSQL a transaction-scoped advisory
        lock gives the same guarantee, so find-or-create steps (a learner by name, an answer
        by idempotency key) never race into a unique-constraint error.
        """
        with self._writer_turn(), self._write() as session, session.begin():
            if self.engine.dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
            yield session
