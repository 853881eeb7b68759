"""``tfquiz demo`` and ``verify``: run questions' demos on a TensorFlow worker in the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import load_bank
from app.config import Settings

if TYPE_CHECKING:
    from app.demos.protocol import RunOutcome
    from app.schema import Demo


def demo(
    question: Annotated[int, typer.Argument(help="Question number.")],
    k: Annotated[
        int | None, typer.Argument(help="Demo number (1 = first); all when omitted.")
    ] = None,
) -> None:
    """Run a question's demos in the terminal on a TensorFlow worker, streaming the output."""
    from app.demos.pool import DemoPool

    settings = Settings()
    bank = load_bank(settings)
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


def verify(
    path: Annotated[Path | None, typer.Argument(help="Folder of question files.")] = None,
    repeat: Annotated[
        int,
        typer.Option(
            min=1,
            max=5,
            help="Run each demo this many times on the same worker, as a server reuses "
            "its workers: a demo that only holds in a fresh process fails on stage.",
        ),
    ] = 1,
) -> None:
    """Run every demo and report, question by question, whether the answer key holds."""
    from app.demos.expectations import check_expectations
    from app.demos.pool import DemoPool

    settings = Settings()
    if path is not None:
        settings = settings.model_copy(update={"questions_dir": path})
    bank = load_bank(settings)
    pool = DemoPool(settings.model_copy(update={"demo_workers": 1}))
    pool.start()
    broken = 0
    try:
        for question in bank.ordered():
            failures = []
            for item in question.demos:
                for turn in range(1, repeat + 1):
                    outcome = pool.run(item.code, item.devices)
                    which = f"demo {item.index}" + (f", run {turn}" if repeat > 1 else "")
                    failures += [f"{which}: {f}" for f in check_expectations(outcome, item.expect)]
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
