"""Benchmark: load 1,000 question files (target: under 1 s), beside reading their bytes.

Run with ``.venv/bin/python -m bench.load_questions``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from app.config import PROJECT_ROOT
from app.questions import load_folder

FILES = 1000
REPEATS = 5
TARGET_S = 1.0


def make_folder(folder: Path) -> None:
    """Write FILES question files, copies of the shipped ones with fresh ids and numbers."""
    sources = sorted((PROJECT_ROOT / "questions").glob("*.md"))
    texts = [path.read_text(encoding="utf-8") for path in sources]
    for index in range(FILES):
        text = texts[index % len(texts)]
        head, _, body = text.partition("\n---\n")
        lines = [
            f"id: {uuid.uuid4()}"
            if line.startswith("id:")
            else f"number: {index + 1}"
            if line.startswith("number:")
            else line
            for line in head.splitlines()
        ]
        (folder / f"{index + 1:04d}.md").write_text("\n".join(lines) + "\n---\n" + body)


def median_seconds(action: Callable[[], object]) -> float:
    """Return the median wall time of REPEATS runs."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    """Print the load time, the baseline, their ratio and the verdict."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        make_folder(folder)
        bank = load_folder(folder)
        assert not bank.errors and len(bank.questions) == FILES, bank.errors[:3]
        baseline = median_seconds(lambda: [p.read_bytes() for p in sorted(folder.glob("*.md"))])
        loading = median_seconds(lambda: load_folder(folder))
    print(f"files: {FILES}, median of {REPEATS} runs")  # noqa: T201
    print(f"baseline (read the bytes):  {baseline * 1000:8.1f} ms")  # noqa: T201
    print(f"load and validate:          {loading * 1000:8.1f} ms")  # noqa: T201
    print(f"ratio load / read:          {loading / baseline:8.1f}x")  # noqa: T201
    verdict = "PASS" if loading < TARGET_S else "FAIL"
    print(f"target < {TARGET_S:.0f} s:               {verdict}")  # noqa: T201


if __name__ == "__main__":
    main()
