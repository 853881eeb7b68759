"""A thread that does one round of work every so often, beside the web process.

The LMS score sender and the housekeeping sweep both need one: started by the app's
lifespan (once, however often it starts), stopped at shutdown, and never ended by a bad
round (a database that is away for a minute).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable


class Periodic:
    """Calls ``work`` every ``interval_s`` seconds in a daemon thread named ``name``."""

    def __init__(
        self, name: str, interval_s: float, work: Callable[[], None], log: logging.Logger
    ) -> None:
        self._name, self._interval, self._work, self._log = name, interval_s, work, log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread, unless it already runs."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 30) -> None:
        """Stop the thread, waiting up to ``timeout_s`` for a round in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        """Tell whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._work()
            except Exception:  # the next round may well succeed: log it, keep the thread
                self._log.exception("%s: a round failed; retrying next round", self._name)
