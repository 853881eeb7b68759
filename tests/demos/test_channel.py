"""Snippets that find the worker's own channel: what they write there is bounded and distrusted.

Code in the worker can reach every descriptor the worker holds, so these snippets write to
the result pipe directly, as hostile code would; the web process must stay bounded and
every later run must work.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from app.demos.pool import DemoPool
from tests.demos.pools import plain_settings, started

# Finds the worker's result pipe as hostile code would: the one Channel object in memory.
FIND_CHANNEL = (
    "import gc, os\n"
    "channel = next(o for o in gc.get_objects() if type(o).__name__ == 'Channel')\n"
    "fd = channel.stream.fileno()\n"
)
NO_NEWLINE = FIND_CHANNEL + "chunk = b'x' * 1048576\nfor _ in range(200):\n    os.write(fd, chunk)"
ECHO = "print('alive')\n6 * 7"


def rss_bytes() -> int:
    """Return this (the web) process's resident memory."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


class PeakMemory:
    """Sample this process's resident memory until stopped, keeping the highest."""

    def __init__(self) -> None:
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        """Say how far above its start the process's memory went."""
        return self.peak - self.start


def echo_works(pool: DemoPool) -> None:
    """The next run after a hostile one gets a healthy worker."""
    outcome = pool.run(ECHO)
    assert (outcome.status, outcome.stdout, outcome.value) == ("ok", "alive\n", "42"), outcome


def test_a_line_without_end_on_the_result_pipe_is_cut_off(pool: DemoPool) -> None:
    restarts = pool.state["restarts"]
    with PeakMemory() as memory:
        outcome = pool.run(NO_NEWLINE)
    # 200 MiB sent; the cap for these settings is 6 x 64 KiB + 1 MiB = 1.4 MiB.
    assert memory.growth < 48 * 1024 * 1024, f"the web process grew {memory.growth:,} bytes"
    assert outcome.status == "crashed", outcome
    assert "could not run" in (outcome.message or "") and "1,441,792" in (outcome.message or "")
    echo_works(pool)
    assert pool.state["restarts"] == restarts + 1


# Writes lines dressed as audit entries to the worker's own stderr, found as FIND_CHANNEL does.
FORGE_LOG = (
    "import gc, os\n"
    "worker = next(o for o in gc.get_objects() if type(o).__name__ == 'Worker')\n"
    "line = '\\r\\x1b[2K2026-12-03 08:00:00,000 WARNING tfquiz.audit: FORGED score set\\n'\n"
    "os.write(worker.saved_fds[1], (line * 25000).encode())\n"
    "print('sent')"
)
# A child process looks for any descriptor it inherited beyond 0, 1 and 2.
INHERITED = (
    "import os, subprocess, sys\n"
    "print('fds', os.environ.get('TFQUIZ_WORKER_FDS'))\n"
    "probe = 'import os\\nfor fd in range(3, 1024):\\n    try:\\n        os.fstat(fd)\\n"
    '        print("inherited", fd)\\n    except OSError:\\n        pass\'\n'
    "subprocess.run([sys.executable, '-c', probe], close_fds=False)"
)


def test_a_worker_log_flood_is_marked_escaped_and_capped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pool = started(plain_settings(tmp_path))
    try:
        outcome = pool.run(FORGE_LOG)
        assert (outcome.status, outcome.stdout) == ("ok", "sent\n"), outcome
        echo_works(pool)
    finally:
        pool.close()
    for _ in range(500):  # the worker's log ends once its stderr closes
        if any(
            "suppressed" in r.getMessage() and "bytes" in r.getMessage() for r in caplog.records
        ):
            break
        time.sleep(0.02)
    lines = [r.getMessage() for r in caplog.records if r.name == "tfquiz.demos"]
    forged = [line for line in lines if "FORGED" in line]
    assert forged and all(re.match(r"worker\[\d+\] stderr: \\r\\x1b\[2K2026", f) for f in forged)
    assert not any("\r" in line or "\x1b" in line for line in lines)
    assert sum(len(line) for line in forged) <= 16 * 1024  # of 1.9 MB sent
    assert any(
        line.endswith("over 16384 bytes this minute: the rest is suppressed") for line in lines
    )
    counted = [line for line in lines if re.search(r"stderr: suppressed [\d,]+ bytes$", line)]
    assert counted and int(counted[0].split()[-2].replace(",", "")) > 1_800_000, lines[-3:]


def test_processes_a_snippet_starts_inherit_none_of_the_workers_descriptors(
    pool: DemoPool,
) -> None:
    outcome = pool.run(INHERITED)
    assert outcome.status == "ok", outcome
    assert outcome.stdout == "fds None\n", outcome.stdout
