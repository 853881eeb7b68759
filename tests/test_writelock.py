"""Writers take turns through a lock file shared by every process on the host."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.writelock import WriteLockTimeout, WriterTurns

HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_two_processes_worth_of_writers_never_overlap(tmp_path: Path) -> None:
    lock_file = tmp_path / "db-writer"
    # Two WriterTurns on one file stand for two web processes: each has its own open file.
    processes = [WriterTurns(lock_file, timeout_s=10), WriterTurns(lock_file, timeout_s=10)]
    inside, overlaps, done = [0], [], []

    def write(turns: WriterTurns) -> None:
        for _ in range(200):
            with turns.turn():
                inside[0] += 1
                time.sleep(0.0001)  # let the other writers run: they must still wait
                overlaps.append(inside[0] > 1)
                inside[0] -= 1
        done.append(True)

    threads = [threading.Thread(target=write, args=(p,)) for p in processes for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(done) == 6 and len(overlaps) == 1200 and not any(overlaps)


def test_a_writer_gives_up_at_its_deadline_while_another_process_holds_the_lock(
    tmp_path: Path,
) -> None:
    lock_file = tmp_path / "db-writer"
    other = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)
    try:
        with pytest.raises(WriteLockTimeout), WriterTurns(lock_file, timeout_s=0.05).turn():
            pytest.fail("the turn should not have been given")
    finally:
        os.close(other)
    with WriterTurns(lock_file, timeout_s=0.05).turn():
        pass  # released with the other holder's file


def test_a_killed_holder_leaves_the_lock_free(tmp_path: Path) -> None:
    lock_file = tmp_path / "db-writer"
    command = [sys.executable, "-c", HOLD_LOCK, str(lock_file)]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(WriteLockTimeout), WriterTurns(lock_file, timeout_s=0.05).turn():
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        with WriterTurns(lock_file, timeout_s=5).turn():
            pass


def test_a_failed_write_gives_its_turn_back(tmp_path: Path) -> None:
    turns = WriterTurns(tmp_path / "db-writer", timeout_s=0.05)
    with pytest.raises(RuntimeError), turns.turn():
        raise RuntimeError("the transaction failed")
    with turns.turn():
        pass
