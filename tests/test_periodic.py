"""The background thread the score sender and the housekeeping sweep run on."""

from __future__ import annotations

import logging
import threading

import pytest

from app.periodic import Periodic


def test_a_failing_round_is_logged_and_the_next_one_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []
    third = threading.Event()

    def work() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("database away")
        if len(rounds) >= 3:
            third.set()

    thread = Periodic("test-periodic", 0.01, work, logging.getLogger("tests.periodic"))
    thread.start()
    thread.start()  # a second start (a second lifespan) starts no second thread
    try:
        assert third.wait(30)
        assert sum(t.name == "test-periodic" for t in threading.enumerate()) == 1
    finally:
        thread.close()
    assert not thread.running
    failures = [r for r in caplog.records if r.name == "tests.periodic"]
    assert len(failures) == 1 and "a round failed" in failures[0].getMessage()
    assert failures[0].exc_info and "database away" in str(failures[0].exc_info[1])
