"""``tfquiz check``, ``grade`` and ``regrade``: question files and answers, off the web."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import command_database, command_session, load_bank
from app.config import Settings
from app.questions import QuestionBank, load_folder


def check(
    path: Annotated[Path | None, typer.Argument(help="Folder of question files.")] = None,
) -> None:
    """Validate question files; print each problem with its line and exit 1 if any."""
    folder = path or Settings().questions_dir
    bank = load_folder(folder)
    for error in bank.errors:
        typer.echo(str(error), err=True)
    if bank.errors:
        typer.echo(f"{len(bank.errors)} problem(s) in {folder}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(bank.questions)} question(s) in {folder}: all valid.")


def grade(
    question: Annotated[int | None, typer.Option(help="Grade one answer read from stdin.")] = None,
    batch: Annotated[
        Path | None, typer.Option(help="JSON lines file of {question, text}; '-' for stdin.")
    ] = None,
    eval_file: Annotated[
        Path | None,
        typer.Option(
            "--eval",
            help="Measure agreement with human scores: a YAML list or folder (devset), or "
            "JSON lines of {question, text, human}.",
        ),
    ] = None,
    from_db: Annotated[
        bool,
        typer.Option("--from-db", help="Measure agreement with the instructors' final scores."),
    ] = False,
) -> None:
    """Grade answers and print JSON results, or measure agreement with human scores."""
    from app.grading import grade_answer

    if sum((question is not None, batch is not None, eval_file is not None, from_db)) != 1:
        typer.echo(
            "Give exactly one of --question N, --batch FILE, --eval FILE or --from-db.", err=True
        )
        raise typer.Exit(2)
    settings = Settings()
    bank = load_bank(settings)
    if eval_file is not None or from_db:
        _evaluate(settings, bank, eval_file)
        return
    if question is not None:
        if question not in bank.questions:
            typer.echo(f"There is no question {question}.", err=True)
            raise typer.Exit(2)
        result = grade_answer(bank.questions[question], sys.stdin.read())
        typer.echo(result.model_dump_json())
        return
    assert batch is not None
    stream = sys.stdin if str(batch) == "-" else batch.open(encoding="utf-8")
    failures = 0
    with stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            outcome = _grade_line(bank, line, number)
            failures += "error" in outcome
            typer.echo(json.dumps(outcome, ensure_ascii=False))
    if failures:
        raise typer.Exit(1)


def _evaluate(settings: Settings, bank: QuestionBank, path: Path | None) -> None:
    """Print the grader's agreement with labelled answers from a file or the database."""
    from app.grading.evaluate import (
        EvalInputError,
        format_report,
        grade_all,
        labelled_from_db,
        load_labelled,
    )

    try:
        if path is not None:
            items = load_labelled(path)
        else:
            with command_session(settings, write=False) as session:
                items = labelled_from_db(session, bank)
        graded = grade_all(bank, items)
    except EvalInputError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if not graded:
        typer.echo("No labelled answers to measure against.", err=True)
        raise typer.Exit(1)
    typer.echo(format_report(graded))


def _grade_line(bank: QuestionBank, line: str, number: int) -> dict[str, object]:
    """Grade one JSON line, or describe what is wrong with it."""
    from app.grading import grade_answer

    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        return {"line": number, "error": f"not valid JSON: {error.msg}"}
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return {"line": number, "error": "expected an object with 'question' and 'text'"}
    question = bank.questions.get(item.get("question"))  # type: ignore[arg-type]
    if question is None:
        return {"line": number, "error": f"there is no question {item.get('question')!r}"}
    result: dict[str, object] = grade_answer(question, item["text"]).model_dump(mode="json")
    return result


def regrade(
    question: Annotated[int | None, typer.Option(help="Re-grade only question N.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
) -> None:
    """Re-grade stored attempts with the current rubric; instructors' scores stay."""
    from app.regrade import regrade as run_regrade
    from app.regrade import report_lines

    settings = Settings()
    bank = load_bank(settings)
    if question is not None and question not in bank.questions:
        typer.echo(f"There is no question {question}.", err=True)
        raise typer.Exit(2)
    with command_database(settings, migrated=True) as database:
        report = run_regrade(database, bank, question, dry_run=dry_run)
    for line in report_lines(report):
        typer.echo(line)
