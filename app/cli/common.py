"""What several commands share: the question bank, the database, refusals on stderr."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from app.config import Settings
from app.questions import QuestionBank, load_folder

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.db import Database


def load_bank(settings: Settings) -> QuestionBank:
    """Load the question files, printing each problem; the valid questions still load."""
    bank = load_folder(settings.questions_dir)
    for error in bank.errors:
        typer.echo(str(error), err=True)
    return bank


@contextmanager
def command_database(settings: Settings, migrated: bool = False) -> Iterator[Database]:
    """Open the database for one command and close its connections after it.

    With ``migrated`` a schema that is not up to date is refused (exit 1), as the server
    refuses it: a command must not write to tables it does not know the shape of.
    """
    from app.db import open_database
    from app.migrate import pending_revisions

    database = open_database(settings)
    try:
        if migrated and pending_revisions(database.engine):
            typer.echo("The database schema is not up to date: run `tfquiz migrate`.", err=True)
            raise typer.Exit(1)
        yield database
    finally:
        database.engine.dispose()


@contextmanager
def command_session(
    settings: Settings, write: bool = True, refusals: tuple[type[Exception], ...] = ()
) -> Iterator[Session]:
    """One transaction for a command; a refusal raised in it is printed to stderr (exit 1)."""
    with command_database(settings) as database:
        try:
            with database.writing() if write else database.reading() as session:
                yield session
        except refusals as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from None
