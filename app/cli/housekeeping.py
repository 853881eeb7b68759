"""``tfquiz prune``: delete expired sessions and old rate-limit counts now."""

from __future__ import annotations

import typer

from app.config import Settings


def prune() -> None:
    """Delete expired learner and instructor sessions and rate-limit counts no window sees.

    Each web process does this every TFQUIZ_HOUSEKEEPING_MINUTES; run it from cron when
    that is 0.
    """
    from app.db import open_database
    from app.housekeeping import sweep

    settings = Settings()
    database = open_database(settings)
    try:
        with database.writing() as session:
            swept = sweep(session, settings)
    finally:
        database.engine.dispose()
    typer.echo(f"Deleted {swept}.")
