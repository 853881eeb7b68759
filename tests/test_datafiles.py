"""The data folder, the SQLite file and the secret key: readable by the server's user only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx

from tests.factories import GOOD_Q3
from tests.server import running_server
from tests.test_cli import run


def mode(path: Path) -> int:
    """Return a file's permission bits."""
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run with a umask that, left to itself, makes new files world-readable."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_server_keeps_its_data_folder_database_and_key_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"  # absent: the server makes it
    env = {"TFQUIZ_DATA_DIR": str(data), "TFQUIZ_DATABASE_URL": "", "TFQUIZ_SECRET_KEY": ""}
    with umask(0o022), running_server(tmp_path, env=env) as url:
        answer = {"learner": "Ada", "text": GOOD_Q3}
        assert httpx.post(url + "/api/questions/3/answers", json=answer).status_code == 201
        database = data / "tfquiz.sqlite3"
        files = [database, data / "secret_key"]
        files += [database.with_name(database.name + end) for end in ("-wal", "-shm")]
        for path in files:  # the WAL and its index exist while the server writes
            assert path.exists(), sorted(p.name for p in data.iterdir())
            assert mode(path) == 0o600, f"{path.name}: {mode(path):o}"
        assert mode(data) == 0o700
        others = [p.name for p in data.iterdir() if mode(p) & 0o077]
        assert others == [], "readable by other users: " + ", ".join(others)


def test_files_an_older_version_left_readable_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"TFQUIZ_DATA_DIR": str(data), "TFQUIZ_DATABASE_URL": "", "TFQUIZ_SECRET_KEY": ""}
    with umask(0o022):
        assert run("migrate", env=env).returncode == 0
        database, key = data / "tfquiz.sqlite3", data / "secret_key"
        key.write_text("an-old-key-that-was-written-world-readable-0123456789")
        for path in (database, key):
            path.chmod(0o644)
        with running_server(tmp_path, env=env) as url:
            assert httpx.get(url + "/healthz").status_code == 200
            assert (mode(database), mode(key)) == (0o600, 0o600)
    assert key.read_text().startswith("an-old-key")  # tightened, not replaced
    assert "readable by other users (mode 644)" in (tmp_path / "server.log").read_text()
