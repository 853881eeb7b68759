"""``tfquiz prune``: delete expired sessions and old rate-limit counts now."""

from __future__ import annotations

import typer

from app.cli.common import command_session
from app.config import Settings


def prune() -> None:
    """Delete expired learner and instructor sessions and rate-limit counts no window sees.

    Each web process does this every TFQUIZ_HOUSEKEEPING_MINUTES; run it from cron when
    that is 0.
    """
    from app.housekeeping import sweep

    settings = Settings()
    with command_session(settings) as session:
        swept = sweep(session, settings)
    typer.echo(f"Deleted {swept}.")
