"""``tfquiz serve`` and ``tfquiz migrate``: run the web app, bring the schema up to date."""

from __future__ import annotations

import logging
import os
import signal
from typing import Annotated

import typer

from app.config import Settings


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
    from app.web.server import http_protocol, raise_open_file_limit

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
    from app.demos.sandbox import containment

    if settings.demo_workers and (notice := containment(settings).notice):
        typer.secho(notice, fg="red", err=True)  # degraded or off: plainly, whatever the log
    # uvicorn re-raises the signal it handled once it has shut down: end with a status
    # instead (0 for a requested stop), not with a traceback or a death by signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    metrics_dir = prepare_multiprocess_dir(processes)
    # Raised before uvicorn spawns its workers, so that they inherit the raised limit.
    protocol = http_protocol(settings, raise_open_file_limit())
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
            http=protocol,  # app/web/server.py: the limits on what clients may hold
        )
    finally:
        remove_multiprocess_dir(metrics_dir)


def _exit_cleanly(signum: int, _frame: object) -> None:
    """End the process after a requested stop: 0 for SIGTERM, 130 for Ctrl-C."""
    raise SystemExit(130 if signum == signal.SIGINT else 0)


def _announce_setup_link(settings: Settings, host: str, port: int) -> None:
    """Print a one-time link to create the first instructor, when there is none yet."""
    from datetime import timedelta

    from app.cli.common import command_session
    from app.instructors import create_setup_token, has_instructor

    with command_session(settings) as session:
        if has_instructor(session):
            return
        token = create_setup_token(session, timedelta(minutes=settings.setup_token_minutes))
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
