"""``tfquiz lti …``: register the LMSs that launch tfquiz, and rotate the tool's key."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import command_session
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
    from app.lti.platforms import PlatformForm, add_platform
    from app.validation import InvalidText

    settings = Settings()
    form = PlatformForm(issuer, client_id, tuple(deployment_id), login_url, token_url, jwks_url)
    with command_session(settings, refusals=(InvalidText,)) as session:
        number = add_platform(session, form, settings.lti_allow_http_loopback).id
    typer.echo(f"Platform {number} registered: {form.issuer.strip()} (client {client_id.strip()}).")


def list_platforms() -> None:
    """List the registered platforms and their deployments."""
    from app.lti.platforms import list_platforms

    with command_session(Settings(), write=False) as session:
        platforms = list_platforms(session)
        if not platforms:
            typer.echo("No platform is registered; add one with `tfquiz lti add-platform`.")
        for p in platforms:
            deployments = ", ".join(d.deployment_id for d in p.deployments)
            typer.echo(f"{p.id}\t{p.issuer}\tclient {p.client_id}\tdeployments {deployments}")
            typer.echo(f"\tlogin {p.login_url}\n\ttoken {p.token_url}\n\tkeys {p.jwks_url}")


def remove_platform(
    platform_id: Annotated[int, typer.Argument(help="The platform's number, from `list`.")],
) -> None:
    """Remove a platform: its launches are refused from now on."""
    from app.lti.platforms import remove_platform
    from app.validation import InvalidText

    with command_session(Settings(), refusals=(InvalidText,)) as session:
        issuer = remove_platform(session, platform_id).issuer
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
