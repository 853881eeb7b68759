"""How long grading takes: typical answers and 10,000-character ones, beside a baseline.

Targets (issue 11): p50 at most 20 ms per answer, and at most 100 ms for a 10,000-character
answer. The baseline is the grader as it stood before the issue (commit BASELINE), checked
out from git into a temporary folder and timed in a process of its own on the same answers,
so the ratio printed is measured in the same run on the same machine.

    .venv/bin/python -m bench.grading [--rounds 5] [--baseline REV]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.baseline import ROOT, checkout

BASELINE = "e4d2632"
REAL = ROOT.parent / "shared" / "grading" / "real-answers.yaml"
LONG_CHARS = 10_000

# Run in a child process against whichever app/ is on its path: the current tree or the
# baseline checkout. It prints {"typical": [ms...], "long": [ms...]}.
CHILD = r"""
import json, sys, time
from pathlib import Path
from app.questions import load_folder
from app.grading import grade_answer
root, rounds = Path(sys.argv[1]), int(sys.argv[3])
answers = json.loads(Path(sys.argv[2]).read_text())
bank = load_folder(root / "questions")
def timed(items):
    out = []
    for _ in range(rounds):
        for number, text in items:
            start = time.perf_counter()
            grade_answer(bank.questions[number], text)
            out.append((time.perf_counter() - start) * 1000)
    return out
try:  # as the server does at start-up (the baseline had no models to load)
    from app.grading.language import warm
    warm(freeze=True)
except ImportError:
    import gc
    gc.freeze()
grade_answer(bank.questions[1], "warm up: load the stemmer, the dictionary and the models")
print(json.dumps({"typical": timed(answers["typical"]), "long": timed(answers["long"])}))
"""


def answers() -> dict[str, list[tuple[int, str]]]:
    """Return typical answers (real and devset) and 10,000-character ones for each question."""
    import yaml

    typical: list[tuple[int, str]] = []
    if REAL.exists():
        typical += [(a["question"], a["text"]) for a in yaml.safe_load(REAL.read_text())]
    for path in sorted((ROOT / "tests" / "grading" / "devset").glob("q*.yaml")):
        typical += [(int(path.stem[1:]), a["text"]) for a in yaml.safe_load(path.read_text())]
    rng = random.Random(12)
    words = " ".join(text for _, text in typical).split()
    long: list[tuple[int, str]] = []
    for number in range(1, 12):
        own = " ".join(text for n, text in typical if n == number)
        long.append((number, (own + "\n") * (LONG_CHARS // max(1, len(own)) + 1))[:LONG_CHARS])
        mixed = " ".join(rng.choice(words) for _ in range(LONG_CHARS // 5))
        long.append((number, mixed[:LONG_CHARS]))
    return {"typical": typical, "long": [(n, t[:LONG_CHARS]) for n, t in long]}


def run(root: Path, data: Path, rounds: int) -> dict[str, list[float]]:
    """Time the grader of the app/ under ``root`` in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(data), str(rounds)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def summary(times: list[float]) -> tuple[float, float]:
    """Return the median and the worst time."""
    return statistics.median(times), max(times)


def main() -> None:
    """Time the current grader and the baseline and print both with their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "answers.json"
        data.write_text(json.dumps(answers()))
        started = time.perf_counter()
        current = run(ROOT, data, options.rounds)
        base_root = Path(folder) / "baseline"
        base_root.mkdir()
        baseline = (
            run(base_root, data, options.rounds) if checkout(options.baseline, base_root) else None
        )
    print(f"grading, {options.rounds} rounds, {time.perf_counter() - started:.0f} s")  # noqa: T201
    print(f"{'':28s}{'current':>10s}{'baseline':>10s}{'ratio':>8s}")  # noqa: T201
    for kind, label in (("typical", "p50, typical answer"), ("long", "p50, 10,000 characters")):
        for which, name in ((0, label), (1, label.replace("p50", "worst"))):
            now = summary(current[kind])[which]
            then = summary(baseline[kind])[which] if baseline else float("nan")
            print(f"{name:28s}{now:8.1f}ms{then:8.1f}ms{now / then:8.2f}")  # noqa: T201
    typical_p50 = summary(current["typical"])[0]
    long_worst = summary(current["long"])[1]
    verdict = "PASS" if typical_p50 <= 20 and long_worst <= 100 else "FAIL"
    print(  # noqa: T201
        f"targets: p50 <= 20 ms ({typical_p50:.1f}), worst 10,000-char <= 100 ms "
        f"({long_worst:.1f}): {verdict}"
    )


if __name__ == "__main__":
    main()
