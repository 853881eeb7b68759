"""``tfquiz lti …``: register the LMSs that launch tfquiz, and rotate the tool's key."""

from __future__ import annotations

from typing import Annotated

import typer

from app.config import Settings


def add_platform(
    issuer: Annotated[str, typer.Option(help="The platform's issuer (iss), an https URL.")],
    client_id: Annotated[str, typer.Option(help="The client id the platform gave tfquiz.")],
    deployment_id: Annotated[
        list[str], typer.Option(help="A deployment id the platform gave; repeat for more.")
    ],
    login_url: Annotated[str, typer.Option(help="The platform's OIDC authentication URL.")],
    token_url: Annotated[str, typer.Option(help="The platform's OAuth2 access-token URL.")],
    jwks_url: Annotated[str, typer.Option(help="The platform's public key set (JWKS) URL.")],
) -> None:
    """Register a platform (an LMS) allowed to launch tfquiz."""
    from app.db import open_database
    from app.lti.platforms import PlatformForm, add_platform
    from app.validation import InvalidText

    settings = Settings()
    form = PlatformForm(issuer, client_id, tuple(deployment_id), login_url, token_url, jwks_url)
    database = open_database(settings)
    try:
        with database.writing() as session:
            platform = add_platform(session, form, settings.lti_allow_http_loopback)
            number = platform.id
    except InvalidText as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    finally:
        database.engine.dispose()
    typer.echo(f"Platform {number} registered: {form.issuer.strip()} (client {client_id.strip()}).")


def list_platforms() -> None:
    """List the registered platforms and their deployments."""
    from app.db import open_database
    from app.lti.platforms import list_platforms

    database = open_database(Settings())
    try:
        with database.reading() as session:
            platforms = list_platforms(session)
            if not platforms:
                typer.echo("No platform is registered; add one with `tfquiz lti add-platform`.")
            for p in platforms:
                deployments = ", ".join(d.deployment_id for d in p.deployments)
                typer.echo(f"{p.id}\t{p.issuer}\tclient {p.client_id}\tdeployments {deployments}")
                typer.echo(f"\tlogin {p.login_url}\n\ttoken {p.token_url}\n\tkeys {p.jwks_url}")
    finally:
        database.engine.dispose()


def remove_platform(
    platform_id: Annotated[int, typer.Argument(help="The platform's number, from `list`.")],
) -> None:
    """Remove a platform: its launches are refused from now on."""
    from app.db import open_database
    from app.lti.platforms import remove_platform
    from app.validation import InvalidText

    database = open_database(Settings())
    try:
        with database.writing() as session:
            platform = remove_platform(session, platform_id)
            issuer = platform.issuer
    except InvalidText as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    finally:
        database.engine.dispose()
    typer.echo(f"Platform {platform_id} ({issuer}) removed.")


def rotate_key() -> None:
    """Sign with a new tool key; /lti/jwks keeps the previous one for the overlap."""
    from app.lti.keys import key_store

    settings = Settings()
    store = key_store(settings)
    old = store.current().kid
    new = store.rotate().kid
    typer.echo(
        f"New tool key {new}. The previous key {old} stays in /lti/jwks for "
        f"{settings.lti_key_overlap_hours} h."
    )
