"""``tfquiz instructor add``: create an instructor account from the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import command_session
from app.config import Settings


def instructor_add(
    email: Annotated[str, typer.Argument(help="The instructor's email address.")],
    generate: Annotated[
        bool, typer.Option(help="Generate a password and print it once instead of asking.")
    ] = False,
) -> None:
    """Create an instructor account; the password is prompted, or generated and shown once."""
    import secrets

    from app.instructors import create_instructor
    from app.validation import InvalidText

    settings = Settings()
    if generate:
        password = secrets.token_urlsafe(15)
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with command_session(settings, refusals=(InvalidText,)) as session:
        created = create_instructor(session, email, password).email
    typer.echo(f"Instructor {created} created.")
    if generate:
        typer.echo(f"Password (shown once, store it now): {password}")
