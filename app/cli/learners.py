"""``tfquiz merge-learners``: merge two learner records from the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from app.config import Settings


def merge_learners(
    merged: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="Learner to merge away.")],
    kept: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="Learner to keep.")],
) -> None:
    """Merge learner MERGED into learner KEPT: every attempt moves, MERGED is deleted."""
    from app.db import open_database
    from app.merging import MergeRefused
    from app.merging import merge_learners as merge

    database = open_database(Settings())
    try:
        with database.writing() as session:
            done = merge(session, merged, kept)
    except MergeRefused as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    finally:
        database.engine.dispose()
    moved = f"{done.attempts_moved} attempt{'s' if done.attempts_moved != 1 else ''}"
    typer.echo(
        f"Merged learner {done.merged_id} ({done.merged_name}) into {done.kept_id} "
        f"({done.kept_name}): {moved} moved."
    )
