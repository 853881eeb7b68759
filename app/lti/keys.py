"""The tool's signing keys: generated once into the data folder, rotatable, served as JWKS.

Platforms check the tool's service-token requests and deep-linking replies against
``/lti/jwks``. They cache that key set, so a rotated-out key stays in it for
``TFQUIZ_LTI_KEY_OVERLAP_HOURS`` while only the newest signs. The keys are generated and
serialised by jwcrypto; nothing here does cryptography by hand.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jwcrypto.jwk import JWK

from app.config import Settings
from app.datafiles import make_private_dir, make_private_file
from app.models import utc_now

KEY_FILE = "lti_keys.json"
KEY_BITS = 2048  # what LMSs expect for RS256; Moodle and Canvas accept it


@dataclass(frozen=True)
class ToolKey:
    """One key pair of the tool, and since when it no longer signs (None: it signs now)."""

    jwk: JWK
    created_at: datetime
    retired_at: datetime | None

    @property
    def kid(self) -> str:
        """Return the key's id, its RFC 7638 thumbprint."""
        return str(self.jwk.get("kid"))

    def private_pem(self) -> str:
        """Return the private key in PEM, the form pylti1p3 signs with."""
        pem: bytes = self.jwk.export_to_pem(private_key=True, password=None)
        return pem.decode("ascii")

    def public_pem(self) -> str:
        """Return the public key in PEM, which pylti1p3 takes the kid of its tokens from."""
        pem: bytes = self.jwk.export_to_pem()
        return pem.decode("ascii")

    def public_jwk(self) -> dict[str, Any]:
        """Return the public half as a JWK (kid, alg and use included)."""
        public: dict[str, Any] = json.loads(self.jwk.export_public())
        return public


def new_key() -> ToolKey:
    """Generate an RSA key pair whose kid is its thumbprint."""
    generated = JWK.generate(kty="RSA", size=KEY_BITS)
    fields = json.loads(generated.export_private())
    fields.update(kid=generated.thumbprint(), alg="RS256", use="sig")
    return ToolKey(JWK(**fields), utc_now(), None)


class KeyStore:
    """The key file in the data folder; read on each use, so a rotation by the CLI shows."""

    def __init__(self, data_dir: Path, overlap: timedelta) -> None:
        self.path = data_dir / KEY_FILE
        self.overlap = overlap

    def current(self) -> ToolKey:
        """Return the key that signs now, generating the first one if there is none."""
        keys = self._load()
        if not keys:
            keys = self._create([new_key()])
        return next(key for key in keys if key.retired_at is None)

    def published(self) -> list[ToolKey]:
        """Return the keys platforms may meet: the current one and those recently retired."""
        self.current()  # a platform may ask for the key set before anything signed
        cutoff = utc_now() - self.overlap
        return [key for key in self._load() if key.retired_at is None or key.retired_at > cutoff]

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """Return the public key set, as served at /lti/jwks."""
        return {"keys": [key.public_jwk() for key in self.published()]}

    def rotate(self) -> ToolKey:
        """Retire the current key, sign with a new one; drop keys retired past the overlap."""
        now = utc_now()
        cutoff = now - self.overlap
        kept = [
            ToolKey(key.jwk, key.created_at, key.retired_at or now)
            for key in self._load()
            if key.retired_at is None or key.retired_at > cutoff
        ]
        fresh = new_key()
        self._replace([fresh, *kept])
        return fresh

    def _load(self) -> list[ToolKey]:
        if not self.path.exists():
            return []
        make_private_file(self.path)  # tightens a copy restored readable by others
        data = json.loads(self.path.read_text(encoding="utf-8"))
        return [
            ToolKey(
                JWK(**row["jwk"]),
                datetime.fromisoformat(row["created_at"]),
                datetime.fromisoformat(row["retired_at"]) if row["retired_at"] else None,
            )
            for row in data["keys"]
        ]

    def _write_temporary(self, keys: list[ToolKey]) -> Path:
        """Write the keys to a fresh 0600 file beside the key file; return its path."""
        make_private_dir(self.path.parent)
        tmp = self.path.with_name(f".{KEY_FILE}.{secrets.token_hex(8)}.tmp")
        make_private_file(tmp)
        rows = [
            {
                "jwk": json.loads(key.jwk.export_private()),
                "created_at": key.created_at.isoformat(),
                "retired_at": key.retired_at.isoformat() if key.retired_at else None,
            }
            for key in keys
        ]
        with tmp.open("w", encoding="utf-8") as file:
            json.dump({"keys": rows}, file)
            file.flush()
            os.fsync(file.fileno())
        return tmp

    def _create(self, keys: list[ToolKey]) -> list[ToolKey]:
        """Put the first key file in place, unless another process got there first."""
        tmp = self._write_temporary(keys)
        try:
            os.link(tmp, self.path)  # fails if it exists: two first requests keep one key
        except FileExistsError:
            keys = self._load()
        finally:
            tmp.unlink()
        return keys

    def _replace(self, keys: list[ToolKey]) -> None:
        os.replace(self._write_temporary(keys), self.path)


def key_store(settings: Settings) -> KeyStore:
    """Return the key store in the configured data folder, with the configured overlap."""
    return KeyStore(settings.data_dir, timedelta(hours=settings.lti_key_overlap_hours))
