"""What this machine offers demo workers (cores, memory, GPUs), and how many to start.

Read when the settings are made, never at import; nothing here imports TensorFlow: GPUs
are counted from the NVIDIA driver's device files.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import NamedTuple

# A warm worker holds about 500 MB (TensorFlow imported, see docs/deploy.md); a demo that
# builds a Keras model takes more for a moment, hence a GiB each.
WORKER_GIB = 1.0
# Kept for the web process, the database and the system.
RESERVED_GIB = 1.0
# Past this many per web process, more workers mostly add start-up time and memory.
MAX_WORKERS = 8
# Workers per GPU: each holds a CUDA context (a few hundred MB of GPU memory) and their
# kernels take turns on the GPU, so more per GPU add contention, not throughput.
WORKERS_PER_GPU = 2


class Machine(NamedTuple):
    """The resources this process may use."""

    cores: int
    memory_gib: float
    gpus: int


def demo_workers_for(machine: Machine, web_processes: int = 1) -> int:
    """Return the warm workers each web process starts when TFQUIZ_DEMO_WORKERS is unset.

    ``min(cores - 1, (memory_GiB - 1) // 1, 8)``, at least 1, capped at 2 per GPU where
    there are GPUs, then shared between the web processes (each has its own pool).
    """
    by_cores = machine.cores - 1  # one core is left to serve pages
    by_memory = math.floor((machine.memory_gib - RESERVED_GIB) / WORKER_GIB)
    count = min(by_cores, by_memory, MAX_WORKERS)
    if machine.gpus:
        count = min(count, WORKERS_PER_GPU * machine.gpus)
    return max(1, count // max(1, web_processes))


def this_machine() -> Machine:
    """Read the cores and memory this process may use (container limits included), and GPUs."""
    return Machine(cores=_cores(), memory_gib=_memory_gib(), gpus=_gpus())


def _cores() -> int:
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = _read("/sys/fs/cgroup/cpu.max").split()  # "max 100000" or "200000 100000"
    if len(quota) == 2 and quota[0].isdigit() and quota[1].isdigit() and int(quota[1]):
        count = min(count or 1, max(1, int(quota[0]) // int(quota[1])))
    return max(1, count or 1)


def _memory_gib() -> float:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = _read("/sys/fs/cgroup/memory.max").strip()  # "max" or bytes, in a container
    if limit.isdigit():
        total = min(total, int(limit))
    return total / 2**30


def _gpus() -> int:
    return sum(1 for path in Path("/dev").glob("nvidia[0-9]*") if path.name[6:].isdigit())


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
