"""pylti1p3's tool configuration, read from the platform registry and the tool's key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pylti1p3.deployment import Deployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy.orm import Session

from app.lti.keys import ToolKey
from app.lti.platforms import list_platforms
from app.models import LtiPlatform


@dataclass(frozen=True)
class KnownPlatform:
    """A registered platform as the library needs it, detached from the database session."""

    id: int
    issuer: str
    client_id: str
    login_url: str
    token_url: str
    jwks_url: str
    deployment_ids: frozenset[str]

    @classmethod
    def of(cls, row: LtiPlatform) -> KnownPlatform:
        """Copy a registry row."""
        deployments = frozenset(d.deployment_id for d in row.deployments)
        return cls(
            row.id, row.issuer, row.client_id, row.login_url, row.token_url, row.jwks_url,
            deployments,
        )  # fmt: skip


class DatabaseToolConf(ToolConfAbstract[Any]):
    """Every registered platform, with many client ids per issuer allowed."""

    def __init__(self, session: Session, key: ToolKey) -> None:
        self.platforms = [KnownPlatform.of(row) for row in list_platforms(session)]
        self._key = key
        self.issuers_relation_types = {}  # the class attribute is shared; ours is not

    def check_iss_has_one_client(self, iss: str) -> bool:
        """Always find a registration by issuer and client id together."""
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        """Always find a registration by issuer and client id together."""
        return True

    def platform(self, iss: str, client_id: str | None) -> KnownPlatform | None:
        """Return the platform of this issuer and client id.

        A login initiation may leave the client id out; then the issuer must have only one.
        """
        same_issuer = [p for p in self.platforms if p.issuer == iss]
        if client_id:
            return next((p for p in same_issuer if p.client_id == client_id), None)
        return same_issuer[0] if len(same_issuer) == 1 else None

    def registration(self, platform: KnownPlatform) -> Registration:
        """Return the library's registration of a platform, signing with the tool's key."""
        return (
            Registration()
            .set_issuer(platform.issuer)
            .set_client_id(platform.client_id)
            .set_auth_login_url(platform.login_url)
            .set_auth_token_url(platform.token_url)
            .set_key_set_url(platform.jwks_url)
            .set_tool_private_key(self._key.private_pem())
            .set_tool_public_key(self._key.public_pem())
        )

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        """Find the registration of an issuer with one client id."""
        platform = self.platform(iss, None)
        return self.registration(platform) if platform else None  # type: ignore[return-value]

    def find_registration_by_params(
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Registration:
        """Find the registration of an issuer and client id (None when unknown)."""
        platform = self.platform(iss, client_id)
        return self.registration(platform) if platform else None  # type: ignore[return-value]

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        """Find a deployment of an issuer with one client id."""
        return self.find_deployment_by_params(iss, deployment_id, "")

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Deployment | None:
        """Find a registered deployment of this issuer and client id."""
        platform = self.platform(iss, client_id or None)
        if platform is None or deployment_id not in platform.deployment_ids:
            return None
        return Deployment().set_deployment_id(deployment_id)
