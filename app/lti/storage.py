"""pylti1p3's launch data kept in the database: nonces and states that hold across processes.

The library saves the nonce at the OIDC login and finds it at the launch, which may reach
another web process (or host), so neither the process's memory nor a cookie the browser
drops on a cross-site POST will do. Writes wait in memory until the route commits them in
its own transaction (``flush``), so a refused launch stores nothing; a launch consumes its
nonce in that transaction (``consume_nonce``), so the same id_token never signs in twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pylti1p3.launch_data_storage.base import LaunchDataStorage
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import Database
from app.models import LtiLaunchValue, utc_now

NONCE_PREFIX = "lti1p3-nonce-"  # pylti1p3's SessionService names a nonce's key so
DEFAULT_LIFETIME_S = 86_400


class DatabaseLaunchStorage(LaunchDataStorage[Any]):
    """A key-value store with expiry in ``lti_launch_value``; no session cookie needed."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self._database = database
        self._pending: dict[str, tuple[Any, int]] = {}

    def get_session_cookie_name(self) -> str | None:
        """Use no cookie of the library's: every key holds a random nonce or state already."""
        return None

    def can_set_keys_expiration(self) -> bool:
        """Tell the library each key may get its own lifetime."""
        return True

    def get_value(self, key: str) -> Any:
        """Return an unexpired value, a pending one first."""
        key = self._prepare_key(key)
        if key in self._pending:
            return self._pending[key][0]
        with self._database.reading() as session:
            row = session.get(LtiLaunchValue, key)
            return row.value if row is not None and row.expires_at > utc_now() else None

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        """Keep a value until the route's transaction writes it."""
        self._pending[self._prepare_key(key)] = (value, exp or DEFAULT_LIFETIME_S)

    def check_value(self, key: str) -> bool:
        """Tell whether a key holds an unexpired value."""
        return self.get_value(key) is not None

    def flush(self, session: Session) -> None:
        """Write the pending values in the caller's transaction, and drop expired rows."""
        now = utc_now()
        session.execute(delete(LtiLaunchValue).where(LtiLaunchValue.expires_at <= now))
        for key, (value, lifetime) in self._pending.items():
            expires = now + timedelta(seconds=lifetime)
            row = session.get(LtiLaunchValue, key)
            if row is None:
                session.add(LtiLaunchValue(key=key, value=value, expires_at=expires))
            else:
                row.value, row.expires_at = value, expires
        self._pending.clear()

    def consume_nonce(self, session: Session, nonce: str) -> bool:
        """Use a nonce up, in the caller's write transaction; tell whether it was still there.

        Two replays racing each other both passed the library's read-only check; only one
        finds the row here, since write transactions take turns.
        """
        key = self._prepare_key(NONCE_PREFIX + nonce)
        query = select(LtiLaunchValue).where(
            LtiLaunchValue.key == key, LtiLaunchValue.expires_at > utc_now()
        )
        row = session.scalars(query).first()
        if row is None:
            return False
        session.delete(row)
        return True
