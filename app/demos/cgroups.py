"""A control group per demo worker, capping its memory and its number of processes.

Rlimits cannot stop a fork bomb run by root (the kernel exempts root from RLIMIT_NPROC),
so where the kernel lets us create cgroups (v1 ``pids`` and ``memory`` hierarchies, or a
v2 tree with those controllers) each worker gets its own. Elsewhere this does nothing and
the sandbox relies on its rlimits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Cgroup:
    """The folders of one worker's cgroup, in every hierarchy that applies."""

    folders: tuple[Path, ...]

    def join(self) -> None:
        """Move the calling process into the cgroup (run in the child before exec)."""
        data = str(os.getpid()).encode()
        for folder in self.folders:
            fd = os.open(folder / "cgroup.procs", os.O_WRONLY)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    def kill_all(self) -> None:
        """Kill every process left in the cgroup, without racing a fork bomb.

        On cgroup v2 the kernel kills the whole group in one step. On v1 the group is
        frozen first, and each process is signalled through a pidfd after checking it is
        still ours, so an id freed by the bomb and reused elsewhere is never hit.
        """
        if self.wait_empty(0.5):
            return
        kill_file = next(
            (f / "cgroup.kill" for f in self.folders if (f / "cgroup.kill").exists()), None
        )
        if kill_file is not None:
            kill_file.write_text("1")
        else:
            freezer = next((f for f in self.folders if (f / "freezer.state").exists()), None)
            if freezer is not None:
                _freeze(freezer)
            for pid in self.pids():
                self._kill_if_member(pid)
            if freezer is not None:
                (freezer / "freezer.state").write_text("THAWED")
        self.wait_empty(5)

    def wait_empty(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the cgroup to empty; tell whether it did."""
        deadline = time.monotonic() + seconds
        while self.pids():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def _kill_if_member(self, pid: int) -> None:
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return  # already gone
        try:
            name = self.folders[0].name
            if name in Path(f"/proc/{pid}/cgroup").read_text():
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except OSError:
            pass
        finally:
            os.close(pidfd)

    def pids(self) -> set[int]:
        """Return the ids of the processes in the cgroup."""
        return {
            int(line)
            for folder in self.folders
            for line in _read_lines(folder / "cgroup.procs")
            if line.strip().isdigit()
        }

    def remove(self) -> None:
        """Delete the cgroup once its processes are gone."""
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # still busy: its last process is being reaped
                    time.sleep(0.02)


def _freeze(folder: Path) -> None:
    """Freeze a v1 freezer cgroup and wait until every task in it has stopped."""
    (folder / "freezer.state").write_text("FROZEN")
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and _read_lines(folder / "freezer.state") != ["FROZEN"]:
        time.sleep(0.005)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def create_cgroup(max_processes: int, max_memory_bytes: int) -> Cgroup | None:
    """Create a worker cgroup with both limits, or return None where that is not allowed."""
    name = f"tfquiz-worker-{uuid.uuid4().hex[:12]}"
    if (ROOT / "cgroup.controllers").exists():
        return _create_v2(name, max_processes, max_memory_bytes)
    return _create_v1(name, max_processes, max_memory_bytes)


def _create_v1(name: str, max_processes: int, max_memory_bytes: int) -> Cgroup | None:
    pids, memory, freezer = ROOT / "pids" / name, ROOT / "memory" / name, ROOT / "freezer" / name
    made: list[Path] = []
    try:
        for folder in (pids, memory, freezer):
            folder.mkdir()
            made.append(folder)
        (pids / "pids.max").write_text(str(max_processes))
        (memory / "memory.limit_in_bytes").write_text(str(max_memory_bytes))
        with contextlib.suppress(OSError):  # absent when swap accounting is off
            (memory / "memory.memsw.limit_in_bytes").write_text(str(max_memory_bytes))
    except OSError:
        Cgroup(tuple(made)).remove()
        return None
    return Cgroup((pids, memory, freezer))


def _create_v2(name: str, max_processes: int, max_memory_bytes: int) -> Cgroup | None:
    base = ROOT / "tfquiz"
    folder = base / name
    try:
        base.mkdir(exist_ok=True)
        controllers = (ROOT / "cgroup.subtree_control").read_text().split()
        if not {"pids", "memory"} <= set(controllers):
            return None
        (base / "cgroup.subtree_control").write_text("+pids +memory")
        folder.mkdir()
        (folder / "pids.max").write_text(str(max_processes))
        (folder / "memory.max").write_text(str(max_memory_bytes))
        (folder / "memory.swap.max").write_text("0")
    except OSError:
        Cgroup((folder,)).remove() if folder.exists() else None
        return None
    return Cgroup((folder,))
