"""Benchmark: a class signing up at once, as argon2id hashes of their sign-in codes.

Forty threads (a web process's request threads) each hash one code at the same moment:
through ``app.passwords.hash_password``, which runs at most one hash per core, and, as the
baseline in the same run, straight through argon2-cffi with nothing bounding them. Prints
the peak growth of this process's memory and the wall time of each burst.

Run with ``.venv/bin/python -m bench.signup_burst``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from statistics import median

from app import passwords
from app.signin_codes import new_code
from tests.demos.test_channel import PeakMemory

THREADS = 40  # anyio's default thread limit: the request threads of one web process
ROUNDS = 3
MiB = 1024 * 1024


def burst(hash_one: Callable[[str], str]) -> tuple[float, float]:
    """Hash THREADS codes at once; return the peak memory growth (MiB) and the seconds."""
    codes = [new_code() for _ in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as threads, PeakMemory() as memory:
        started = time.perf_counter()
        list(threads.map(hash_one, codes))
        seconds = time.perf_counter() - started
    return memory.growth / MiB, seconds


def main() -> None:
    """Alternate bounded and unbounded bursts; print each and the ratios of their medians."""
    unbounded = passwords._hasher.hash  # the baseline: argon2-cffi with nothing in front
    results: dict[str, list[tuple[float, float]]] = {"bounded": [], "unbounded": []}
    for _ in range(ROUNDS):
        results["bounded"].append(burst(passwords.hash_password))
        results["unbounded"].append(burst(unbounded))
    lines = [f"{THREADS} sign-ups at once, {os.cpu_count()} cores, {ROUNDS} rounds each"]
    for name, runs in results.items():
        peaks = [peak for peak, _ in runs]
        lines.append(
            f"{name:>9}: peak memory growth {median(peaks):7.1f} MiB (max {max(peaks):.1f}),"
            f" wall {median(wall for _, wall in runs) * 1000:6.0f} ms median"
        )
    bounded, free = results["bounded"], results["unbounded"]
    peak_ratio = median(p for p, _ in bounded) / max(median(p for p, _ in free), 1e-9)
    wall_ratio = median(w for _, w in bounded) / median(w for _, w in free)
    lines.append(f"bounded / unbounded: memory {peak_ratio:.2f}, wall time {wall_ratio:.2f}")
    print("\n".join(lines))  # noqa: T201


if __name__ == "__main__":
    main()
