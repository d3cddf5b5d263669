"""The key that signs access tokens (ES256) and derives client secrets, kept outside every database.

From KLAVIYO_MCP_OAUTH_SIGNING_KEY (a PEM) if set, else a file next to the OAuth state, created once with mode
0600 (O_EXCL, so processes starting together agree on one key). Several instances must share it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.klaviyo.redact import register_secret
from klaviyo_analytics.secret_files import write_once

ALGORITHM = "ES256"
KEY_FILE = "oauth-signing-key.pem"


@dataclass(frozen=True)
class SigningKey:
    private: ec.EllipticCurvePrivateKey
    kid: str

    @property
    def public(self) -> ec.EllipticCurvePublicKey:
        return self.private.public_key()

    def mac(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of ``value`` under a key derived from the signing key, one per purpose."""
        material = self.private.private_numbers().private_value.to_bytes(32, "big")
        return hmac.new(material, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def client_secret(self, client_id: str) -> str:
        """A registered client's secret: derived, so the state file never holds one."""
        secret = self.mac("client-secret", client_id)
        register_secret(secret)
        return secret


def _from_pem(pem: bytes, source: str) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{source} is not a PEM private key", variable="KLAVIYO_MCP_OAUTH_SIGNING_KEY") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError(f"{source} must be an EC P-256 key (ES256)", variable="KLAVIYO_MCP_OAUTH_SIGNING_KEY")
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return SigningKey(key, hashlib.sha256(public).hexdigest()[:16])


def new_pem() -> bytes:
    """A fresh EC P-256 private key, PEM (PKCS#8)."""
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def env_line(pem: bytes) -> str:
    """``KLAVIYO_MCP_OAUTH_SIGNING_KEY="…"`` for a .env file: one line, newlines escaped (dotenv and Compose
    read them)."""
    return 'KLAVIYO_MCP_OAUTH_SIGNING_KEY="' + pem.decode().strip().replace("\n", "\\n") + '"'


def _create(path: Path) -> None:
    write_once(path, new_pem())


def load_signing_key(settings: Settings) -> SigningKey:
    if settings.oauth_signing_key:
        return _from_pem(settings.oauth_signing_key.encode(), "KLAVIYO_MCP_OAUTH_SIGNING_KEY")
    path = settings.resolved_oauth_state_path.parent / KEY_FILE
    if not path.exists():
        _create(path)
    if path.stat().st_mode & 0o077:
        raise ConfigError(
            f"{path} must be readable by its owner only (chmod 600)", variable="KLAVIYO_MCP_OAUTH_SIGNING_KEY"
        )
    return _from_pem(path.read_bytes(), str(path))
