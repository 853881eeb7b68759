"""``tfquiz instructor add``: create an instructor account from the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from app.config import Settings


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
