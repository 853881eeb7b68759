"""The tfquiz command, run as a learner or instructor would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.factories import GOOD_Q3
from tests.test_questions import VALID

TFQUIZ = [sys.executable, "-m", "app"]


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh process."""
    return subprocess.run(
        [*TFQUIZ, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_check_passes_on_the_shipped_questions() -> None:
    result = run("check", "questions/")
    assert result.returncode == 0, result.stderr
    assert "11 question(s)" in result.stdout and "all valid" in result.stdout


def test_check_reports_file_and_line_and_fails(tmp_path: Path) -> None:
    (tmp_path / "12-ok.md").write_text(VALID)
    (tmp_path / "13-bad.md").write_text(
        VALID.replace("number: 12", "number: 13")
        .replace("7d3c8a9e-1111", "7d3c8a9e-3333")
        .replace("    weight: 1", "    weight: 0")
    )
    result = run("check", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path / '13-bad.md'}:23: rubric: key_points.0.weight" in result.stderr
    assert "1 problem(s)" in result.stderr


def test_grade_one_answer_from_stdin() -> None:
    result = run("grade", "--question", "3", stdin=GOOD_Q3)
    assert result.returncode == 0, result.stderr
    graded = json.loads(result.stdout)
    assert graded["score"] == 1.0 and graded["points"] == 10.0 and graded["max_points"] == 10.0
    assert graded["feedback"].startswith("Excellent")


def test_grade_a_batch_keeps_order_and_reports_bad_lines(tmp_path: Path) -> None:
    batch = tmp_path / "answers.jsonl"
    lines = [
        json.dumps({"question": 3, "text": GOOD_Q3}),
        json.dumps({"question": 3, "text": "Yes, both are int64."}),
        "not json",
        json.dumps({"question": 42, "text": "x"}),
    ]
    batch.write_text("\n".join(lines) + "\n")
    result = run("grade", "--batch", str(batch))
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("score") for o in out[:2]] == [1.0, 0.0]
    assert out[2] == {"line": 3, "error": "not valid JSON: Expecting value"}
    assert out[3] == {"line": 4, "error": "there is no question 42"}


def test_grade_prints_confidence_and_review_fields() -> None:
    result = run("grade", "--question", "3", stdin="Non, tf.range donne int32 et np.arange int64.")
    assert result.returncode == 0, result.stderr
    graded = json.loads(result.stdout)
    assert graded["needs_review"] is True and graded["language"] == "fr"
    assert 0 <= graded["confidence"] < 0.6 and "French" in graded["review_reason"]


def test_grade_eval_reports_agreement_and_the_worst_answers(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.jsonl"
    rows = [
        {"question": 3, "text": GOOD_Q3, "human": 1.0},
        {"question": 3, "text": "Yes, both are int64.", "human": 0.0},
        {"question": 3, "text": "No, they are different because the dtypes differ.", "human": 0.4},
    ]
    labelled.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run("grade", "--eval", str(labelled))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["question", "n", "spearman", "mae"]
    assert "answers the grader got most wrong" in result.stdout
    assert lines[-2].startswith("overall: n=3 spearman=1.000")
    assert lines[-1].startswith("needs review: 0 of 3")


def test_grade_eval_refuses_a_bad_file_clearly(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.yaml"
    labelled.write_text("- {question: 3, text: hi, human: 7}\n")
    result = run("grade", "--eval", str(labelled))
    assert result.returncode == 2
    assert "entry 1: 'human' must be a score from 0 to 1" in result.stderr


def test_grade_needs_exactly_one_mode() -> None:
    result = run("grade")
    assert result.returncode == 2 and "exactly one of" in result.stderr


def test_migrate_creates_the_database(tmp_path: Path) -> None:
    result = run("migrate", env={"TFQUIZ_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tfquiz.sqlite3").exists()
    assert (tmp_path / "secret_key").exists() is False  # only serving needs the secret


def test_instructor_add_generates_a_password_shown_once(tmp_path: Path) -> None:
    env = {"TFQUIZ_DATA_DIR": str(tmp_path)}
    assert run("migrate", env=env).returncode == 0
    created = run("instructor", "add", "Prof@Example.org", "--generate", env=env)
    assert created.returncode == 0, created.stderr
    assert "Instructor prof@example.org created." in created.stdout
    assert "Password (shown once, store it now): " in created.stdout
    again = run("instructor", "add", "prof@example.org", "--generate", env=env)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_instructor_add_prompts_for_a_password(tmp_path: Path) -> None:
    env = {"TFQUIZ_DATA_DIR": str(tmp_path)}
    run("migrate", env=env)
    short = run("instructor", "add", "a@example.org", stdin="short\nshort\n", env=env)
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    good = run(
        "instructor", "add", "a@example.org", stdin="long enough pw\nlong enough pw\n", env=env
    )
    assert good.returncode == 0 and "Password (shown once" not in good.stdout


def test_commands_refuse_an_unmigrated_database_and_write_nothing(tmp_path: Path) -> None:
    env = {"TFQUIZ_DATA_DIR": str(tmp_path)}
    for command in (("export", "scores", "--output", str(tmp_path / "out.csv")), ("regrade",)):
        result = run(*command, env=env)
        assert result.returncode == 1, result.stderr
        assert "The database schema is not up to date: run `tfquiz migrate`." in result.stderr
    assert not (tmp_path / "out.csv").exists()
