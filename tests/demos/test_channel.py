"""Snippets that find the worker's own channel: what they write there is bounded and distrusted.

Code in the worker can reach every descriptor the worker holds, so these snippets write to
the result pipe directly, as hostile code would; the web process must stay bounded and
every later run must work.
"""

from __future__ import annotations

import threading

from app.demos.pool import DemoPool

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
