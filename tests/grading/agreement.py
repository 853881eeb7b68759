"""Agreement between the auto-grader and the human scores of the labelled development set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from app.grading import grade_answer
from app.schema import Question

DEVSET_DIR = Path(__file__).resolve().parent / "devset"
LABELS = frozenset(
    {"excellent", "good", "partial", "wrong", "misconception", "off-topic", "keyword-list", "seed"}
)


@dataclass(frozen=True)
class Labelled:
    """One answer of the development set with its human score and the auto score."""

    question: int
    label: str
    text: str
    human: float
    auto: float


def load_devset(questions: dict[int, Question]) -> list[Labelled]:
    """Grade every labelled answer of ``devset/qNN.yaml`` against its question."""
    rows: list[Labelled] = []
    for path in sorted(DEVSET_DIR.glob("q*.yaml")):
        number = int(path.stem[1:])
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            auto = grade_answer(questions[number], item["text"]).score
            rows.append(Labelled(number, item["label"], item["text"], float(item["human"]), auto))
    return rows


def ranks(values: list[float]) -> list[float]:
    """Return 1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(xs: list[float], ys: list[float]) -> float:
    """Return Spearman's rank correlation (Pearson's on the ranks)."""
    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / (vx * vy) ** 0.5 if vx and vy else 0.0


def mean_absolute_error(xs: list[float], ys: list[float]) -> float:
    """Return the mean absolute difference of two equal-length lists."""
    return sum(abs(a - b) for a, b in zip(xs, ys, strict=True)) / len(xs)


def report(rows: list[Labelled]) -> str:
    """Format per-question and overall agreement as a small table."""
    lines = ["question  n  spearman  mae"]
    for number in sorted({r.question for r in rows}):
        part = [r for r in rows if r.question == number]
        human, auto = [r.human for r in part], [r.auto for r in part]
        rho, mae = spearman(human, auto), mean_absolute_error(human, auto)
        lines.append(f"{number:8d} {len(part):2d}  {rho:8.3f}  {mae:.3f}")
    human, auto = [r.human for r in rows], [r.auto for r in rows]
    rho, mae = spearman(human, auto), mean_absolute_error(human, auto)
    lines.append(f"     all {len(rows):2d}  {rho:8.3f}  {mae:.3f}")
    worst = sorted(rows, key=lambda r: -abs(r.human - r.auto))[:8]
    lines.append("largest disagreements (question, label, human, auto):")
    lines.extend(f"  q{r.question} {r.label:13s} {r.human:.2f} {r.auto:.2f}" for r in worst)
    return "\n".join(lines)


if __name__ == "__main__":
    from app.config import PROJECT_ROOT
    from app.questions import load_folder

    bank = load_folder(PROJECT_ROOT / "questions")
    for error in bank.errors:
        print(error)  # noqa: T201
    print(report(load_devset(bank.questions)))  # noqa: T201
