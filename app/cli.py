"""The ``tfquiz`` command: serve, migrate, check question files, grade answers."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.config import Settings
from app.questions import QuestionBank, load_folder

if TYPE_CHECKING:
    from app.demos.protocol import RunOutcome
    from app.schema import Demo

cli = typer.Typer(help="tfquiz: a self-grading TensorFlow quiz.", no_args_is_help=True)
instructor_cli = typer.Typer(help="Manage instructor accounts.", no_args_is_help=True)
cli.add_typer(instructor_cli, name="instructor")


def _bank(settings: Settings) -> QuestionBank:
    bank = load_folder(settings.questions_dir)
    for error in bank.errors:
        typer.echo(str(error), err=True)
    return bank


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Web processes (default TFQUIZ_WORKERS).")
    ] = None,
    shutdown_timeout: Annotated[
        int | None,
        typer.Option(min=1, help="Seconds requests in flight get to finish on SIGTERM."),
    ] = None,
    reload: Annotated[bool, typer.Option(help="Restart when code changes.")] = False,
    migrate: Annotated[bool, typer.Option(help="Apply pending migrations first.")] = True,
) -> None:
    """Serve the quiz with uvicorn; SIGTERM lets requests in flight finish, then exits 0."""
    import logging.config

    import uvicorn

    from app.logs import logging_config
    from app.metrics import prepare_multiprocess_dir, remove_multiprocess_dir

    settings = Settings()
    processes = workers or settings.workers
    if reload and processes > 1:
        typer.echo("--reload serves one process: drop --workers or TFQUIZ_WORKERS.", err=True)
        raise typer.Exit(2)
    if reload:
        os.environ["TFQUIZ_RELOAD_TEMPLATES"] = "true"  # read by the served app's Settings
    log_config = logging_config(settings.log_format, settings.log_level)
    logging.config.dictConfig(log_config)
    if migrate:
        _migrate(settings)
    # Make the generated key file now: several workers starting at once would each write one.
    settings.resolved_secret_key  # noqa: B018
    _announce_setup_link(settings, host or settings.host, port or settings.port)
    # uvicorn re-raises the signal it handled once it has shut down: end with a status
    # instead (0 for a requested stop), not with a traceback or a death by signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    metrics_dir = prepare_multiprocess_dir(processes)
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=processes,
            reload=reload,
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
            log_config=log_config,
            access_log=False,  # app.logs writes its own access lines, without query strings
            timeout_graceful_shutdown=shutdown_timeout or settings.shutdown_timeout_s,
        )
    finally:
        remove_multiprocess_dir(metrics_dir)


def _exit_cleanly(signum: int, _frame: object) -> None:
    """End the process after a requested stop: 0 for SIGTERM, 130 for Ctrl-C."""
    raise SystemExit(130 if signum == signal.SIGINT else 0)


def _announce_setup_link(settings: Settings, host: str, port: int) -> None:
    """Print a one-time link to create the first instructor, when there is none yet."""
    from datetime import timedelta

    from app.db import open_database
    from app.instructors import create_setup_token, has_instructor

    database = open_database(settings)
    try:
        with database.writing() as session:
            if has_instructor(session):
                return
            lifetime = timedelta(minutes=settings.setup_token_minutes)
            token = create_setup_token(session, lifetime)
    finally:
        database.engine.dispose()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    message = (
        "No instructor account yet. To create the first one, open within "
        f"{settings.setup_token_minutes} minutes (works once):\n"
        f"    http://{shown}:{port}/instructor/setup?token={token}"
    )
    if settings.log_format == "json":  # keep every line of the log JSON
        logging.getLogger("tfquiz").warning(message)
    else:
        typer.secho(message, fg="yellow", err=True)


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
    bank = _bank(settings)
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
            from app.db import open_database

            database = open_database(settings)
            try:
                with database.reading() as session:
                    items = labelled_from_db(session, bank)
            finally:
                database.engine.dispose()
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


@cli.command()
def regrade(
    question: Annotated[int | None, typer.Option(help="Re-grade only question N.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
) -> None:
    """Re-grade stored attempts with the current rubric; instructors' scores stay."""
    from app.db import open_database
    from app.migrate import pending_revisions
    from app.regrade import regrade as run_regrade
    from app.regrade import report_lines

    settings = Settings()
    bank = _bank(settings)
    if question is not None and question not in bank.questions:
        typer.echo(f"There is no question {question}.", err=True)
        raise typer.Exit(2)
    database = open_database(settings)
    try:
        if pending_revisions(database.engine):
            typer.echo("The database schema is not up to date: run `tfquiz migrate`.", err=True)
            raise typer.Exit(1)
        report = run_regrade(database, bank, question, dry_run=dry_run)
    finally:
        database.engine.dispose()
    for line in report_lines(report):
        typer.echo(line)


@cli.command()
def demo(
    question: Annotated[int, typer.Argument(help="Question number.")],
    k: Annotated[
        int | None, typer.Argument(help="Demo number (1 = first); all when omitted.")
    ] = None,
) -> None:
    """Run a question's demos in the terminal on a TensorFlow worker, streaming the output."""
    from app.demos.pool import DemoPool

    settings = Settings()
    bank = _bank(settings)
    if question not in bank.questions:
        typer.echo(f"There is no question {question}.", err=True)
        raise typer.Exit(2)
    demos = bank.questions[question].demos
    if k is not None and not 1 <= k <= len(demos):
        typer.echo(f"Question {question} has demos 1 to {len(demos)}.", err=True)
        raise typer.Exit(2)
    pool = DemoPool(settings.model_copy(update={"demo_workers": 1}))
    pool.start()
    failed = False
    try:
        for item in demos if k is None else [demos[k - 1]]:
            typer.secho(f"── Q{question} demo {item.index}: {item.title}", bold=True)
            outcome = pool.run(item.code, item.devices, on_output=_echo_output)
            failed |= _report(outcome, item)
    finally:
        pool.close()
    if failed:
        raise typer.Exit(1)


def _echo_output(stream: str, text: str) -> None:
    typer.echo(text, nl=False, err=stream == "stderr")


def _report(outcome: RunOutcome, item: Demo) -> bool:
    """Print a run's value, error and claims; return whether it failed."""
    from app.demos.expectations import check_expectations

    if outcome.value is not None:
        typer.secho(f"→ {outcome.value}", fg="green")
    if outcome.error is not None:
        typer.secho(outcome.error.traceback.rstrip(), fg="red", err=True)
    if outcome.message:
        typer.secho(outcome.message, fg="red", err=True)
    failures = check_expectations(outcome, item.expect)
    where = f"TensorFlow {outcome.tf_version} on {(outcome.device_kind or '?').upper()}"
    typer.echo(f"[{where}, {outcome.duration_ms:.0f} ms] ", nl=False)
    if failures:
        typer.secho("claims NOT shown: " + "; ".join(failures), fg="red")
    else:
        typer.secho("claims hold", fg="green")
    return bool(failures)


@cli.command()
def verify(
    path: Annotated[Path | None, typer.Argument(help="Folder of question files.")] = None,
) -> None:
    """Run every demo and report, question by question, whether the answer key holds."""
    from app.demos.expectations import check_expectations
    from app.demos.pool import DemoPool

    settings = Settings()
    if path is not None:
        settings = settings.model_copy(update={"questions_dir": path})
    bank = _bank(settings)
    pool = DemoPool(settings.model_copy(update={"demo_workers": 1}))
    pool.start()
    broken = 0
    try:
        for question in bank.ordered():
            failures = []
            for item in question.demos:
                outcome = pool.run(item.code, item.devices)
                failures += [
                    f"demo {item.index}: {f}" for f in check_expectations(outcome, item.expect)
                ]
            mark = typer.style("FAIL", fg="red") if failures else typer.style("ok  ", fg="green")
            typer.echo(
                f"{mark} Q{question.number:<3} {len(question.demos)} demo(s)  {question.title}"
            )
            for failure in failures:
                typer.echo(f"       {failure}")
            broken += bool(failures)
    finally:
        pool.close()
    typer.echo(
        f"{len(bank.questions) - broken} of {len(bank.questions)} questions verified on "
        f"TensorFlow {pool.hello.get('tf_version', '?')} "
        f"({str(pool.hello.get('device_kind', '?')).upper()})."
    )
    if broken or bank.errors:
        raise typer.Exit(1)


class ExportKind(StrEnum):
    """What to export."""

    scores = "scores"
    attempts = "attempts"


class ExportFormat(StrEnum):
    """How to write an export."""

    csv = "csv"
    json = "json"


@cli.command()
def export(
    kind: Annotated[ExportKind, typer.Argument(help="scores (the gradebook) or attempts.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = (
        ExportFormat.csv
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; stdout when omitted.")
    ] = None,
) -> None:
    """Export the gradebook or every attempt, as CSV (formulas neutralised) or JSON."""
    from app.db import open_database
    from app.exports import export_stream
    from app.migrate import pending_revisions

    settings = Settings()
    questions = _bank(settings).ordered()
    database = open_database(settings)
    try:
        if pending_revisions(database.engine):
            typer.echo("The database schema is not up to date: run `tfquiz migrate`.", err=True)
            raise typer.Exit(1)
        chunks = export_stream(database.reading, kind.value, fmt.value, questions)
        if output is None:
            sys.stdout.reconfigure(newline="")  # type: ignore[union-attr]  # keep CSV's CRLF
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
        else:
            with output.open("w", encoding="utf-8", newline="") as stream:
                stream.writelines(chunks)
            typer.echo(f"Wrote {output}.", err=True)
    except OSError as error:
        typer.echo(f"Cannot write {output}: {error.strerror}.", err=True)
        raise typer.Exit(1) from None
    finally:
        database.engine.dispose()


@instructor_cli.command("add")
def instructor_add(
    email: Annotated[str, typer.Argument(help="The instructor's email address.")],
    generate: Annotated[
        bool, typer.Option(help="Generate a password and print it once instead of asking.")
    ] = False,
) -> None:
    """Create an instructor account; the password is prompted, or generated and shown once."""
    import secrets

    from app.db import open_database
    from app.instructors import create_instructor
    from app.validation import InvalidText

    settings = Settings()
    if generate:
        password = secrets.token_urlsafe(15)
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    database = open_database(settings)
    try:
        with database.writing() as session:
            instructor = create_instructor(session, email, password)
            created = instructor.email
    except InvalidText as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    finally:
        database.engine.dispose()
    typer.echo(f"Instructor {created} created.")
    if generate:
        typer.echo(f"Password (shown once, store it now): {password}")


def main() -> None:
    """Run the CLI."""
    cli()
