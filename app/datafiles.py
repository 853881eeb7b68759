"""The data folder and the files in it: readable by the server's own user only.

The SQLite file holds every learner's answers and the secret key signs every session, so
neither may be readable by other users of the machine (a shared teaching server, say).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# SQLite creates its -wal and -shm files with the database file's own mode, so these
# only need tightening when they were created before the database file was.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def make_private_dir(folder: Path) -> None:
    """Create ``folder`` (and missing parents) so that only its owner may enter it."""
    # An existing folder is left as its owner set it: the files in it are 0600 either way.
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        # mkdir's mode is masked by the umask, which can only take bits away from 0700.
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)


def make_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if absent; tighten it if others may read it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    except FileExistsError:
        _tighten(path)
    else:
        os.close(fd)


def make_private_sqlite(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use 0644 under umask 022)."""
    make_private_dir(path.parent)
    make_private_file(path)
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            _tighten(companion)


def _tighten(path: Path) -> None:
    """Drop group and other permissions from a file this server owns."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077 and path.stat().st_uid == os.geteuid():
        path.chmod(mode & ~0o077)
        log.warning("%s was readable by other users (mode %o); now %o", path, mode, mode & 0o700)
