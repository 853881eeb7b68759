"""``tfquiz export``: the gradebook or every attempt, as CSV or JSON."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import command_database, load_bank
from app.config import Settings


class ExportKind(StrEnum):
    """What to export."""

    scores = "scores"
    attempts = "attempts"


class ExportFormat(StrEnum):
    """How to write an export."""

    csv = "csv"
    json = "json"


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
    from app.exports import export_stream

    settings = Settings()
    questions = load_bank(settings).ordered()
    with command_database(settings, migrated=True) as database:
        _write(export_stream(database.reading, kind.value, fmt.value, questions), output)


def _write(chunks: Iterator[str], output: Path | None) -> None:
    """Write the export to ``output``, or to stdout with CSV's line ends kept."""
    try:
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
