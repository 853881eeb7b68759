"""``tfquiz merge-learners``: merge two learner records from the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import command_session
from app.config import Settings


def merge_learners(
    merged: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="Learner to merge away.")],
    kept: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="Learner to keep.")],
) -> None:
    """Merge learner MERGED into learner KEPT: every attempt moves, MERGED is deleted."""
    from app.merging import MergeRefused
    from app.merging import merge_learners as merge

    with command_session(Settings(), refusals=(MergeRefused,)) as session:
        done = merge(session, merged, kept)
    moved = f"{done.attempts_moved} attempt{'s' if done.attempts_moved != 1 else ''}"
    typer.echo(
        f"Merged learner {done.merged_id} ({done.merged_name}) into {done.kept_id} "
        f"({done.kept_name}): {moved} moved."
    )
