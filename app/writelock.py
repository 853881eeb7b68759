"""One SQLite writer at a time across the threads and processes of a host, woken promptly.

SQLite lets one transaction write at a time. A writer that finds the lock taken sleeps in
SQLite's busy handler for ever longer spells (up to 100 ms), so with several web processes
answers queue behind sleepers and the slowest wait for seconds. Here writers queue on a
lock file instead: ``flock`` is retried every fraction of a millisecond, so the next writer
starts almost as soon as the last one commits. The kernel drops the lock of a process that
dies, so a killed server never leaves it held.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FIRST_PAUSE_S = 0.0002
LONGEST_PAUSE_S = 0.002


class WriteLockTimeout(Exception):
    """Raised when a write waited past the busy timeout for its turn; nothing was written."""


class WriterTurns:
    """Hands out turns to write: first among this process's threads, then between processes."""

    def __init__(self, lock_file: Path | None, timeout_s: float) -> None:
        self.lock_file = lock_file
        self.timeout_s = timeout_s
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._fd_pid = 0  # a forked child must open its own: flock belongs to the open file

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for this thread's turn to write, or raise WriteLockTimeout at the deadline."""
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            raise WriteLockTimeout
        try:
            if self.lock_file is None:
                yield
                return
            fd = self._open(self.lock_file)
            _lock(fd, deadline)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _open(self, lock_file: Path) -> int:
        if self._fd is None or self._fd_pid != os.getpid():
            self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._fd_pid = os.getpid()
        return self._fd


def _lock(fd: int, deadline: float) -> None:
    """Take the file lock, polling with short sleeps until the deadline."""
    pause = FIRST_PAUSE_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise WriteLockTimeout from None
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_S)
