"""The ``tfquiz`` command: serve, migrate, check question files, grade answers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.config import Settings
from app.questions import QuestionBank, load_folder

cli = typer.Typer(help="tfquiz: a self-grading TensorFlow quiz.", no_args_is_help=True)


def _bank(settings: Settings) -> QuestionBank:
    bank = load_folder(settings.questions_dir)
    for error in bank.errors:
        typer.echo(str(error), err=True)
    return bank


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    reload: Annotated[bool, typer.Option(help="Restart when code changes.")] = False,
    migrate: Annotated[bool, typer.Option(help="Apply pending migrations first.")] = True,
) -> None:
    """Serve the quiz with uvicorn."""
    import uvicorn

    settings = Settings()
    if migrate:
        _migrate(settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        proxy_headers=False,
    )


@cli.command()
def migrate() -> None:
    """Apply pending database migrations."""
    settings = Settings()
    _migrate(settings)
    typer.echo("Database is up to date.")


def _migrate(settings: Settings) -> None:
    from app.db import create_db_engine
    from app.migrate import upgrade_to_head

    engine = create_db_engine(settings)
    upgrade_to_head(engine)
    engine.dispose()


@cli.command()
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


@cli.command()
def grade(
    question: Annotated[int | None, typer.Option(help="Grade one answer read from stdin.")] = None,
    batch: Annotated[
        Path | None, typer.Option(help="JSON lines file of {question, text}; '-' for stdin.")
    ] = None,
) -> None:
    """Grade answers and print JSON results, one per line."""
    from app.grading import grade_answer

    if (question is None) == (batch is None):
        typer.echo("Give exactly one of --question N or --batch FILE.", err=True)
        raise typer.Exit(2)
    bank = _bank(Settings())
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


def main() -> None:
    """Run the CLI."""
    cli()
