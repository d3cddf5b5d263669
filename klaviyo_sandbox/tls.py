"""A self-signed certificate for serving the sandbox over TLS on loopback.

``SelfSigned.generate()`` makes an EC P-256 key and a certificate for ``localhost``, 127.0.0.1
and ::1 (the ``cryptography`` package, already a dependency); ``cert_file`` is the PEM a client
trusts (``httpx.Client(verify=…)``, ``SSL_CERT_FILE``), ``server_context()`` what the server
wraps its socket with. The validity runs from 2000 to 2100, so no clock is read and a sandbox
pinned to any date still has a valid certificate.
"""

from __future__ import annotations

import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_NOT_BEFORE = datetime(2000, 1, 1, tzinfo=UTC)
_NOT_AFTER = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SelfSigned:
    cert_file: Path
    key_file: Path

    @classmethod
    def generate(cls, directory: Path | None = None) -> SelfSigned:
        where = Path(directory or tempfile.mkdtemp(prefix="klaviyo-sandbox-tls-"))
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "klaviyo-sandbox")])
        alt = x509.SubjectAlternativeName(
            [
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_NOT_BEFORE)
            .not_valid_after(_NOT_AFTER)
            .add_extension(alt, critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        cert_file, key_file = where / "sandbox-cert.pem", where / "sandbox-key.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_file.chmod(0o600)
        return cls(cert_file, key_file)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context
