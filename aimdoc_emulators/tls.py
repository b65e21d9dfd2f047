"""A throwaway certificate authority and a server certificate for 127.0.0.1."""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsMaterial:
    """The CA file clients trust, the server's certificate and key files, and its context."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    context: ssl.SSLContext


def make_tls(directory: Path | None = None) -> TlsMaterial:
    """Create a new CA and a certificate for 127.0.0.1 and localhost; write the CA PEM file."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="emulator-tls-"))
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = folder / "emulator-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert_file, key_file = folder / "emulator-cert.pem", folder / "emulator-key.pem"
    for blob in cert.cert_chain_pems:
        blob.write_to_path(str(cert_file), append=blob is not cert.cert_chain_pems[0])
    cert.private_key_pem.write_to_path(str(key_file))
    key_file.chmod(0o600)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return TlsMaterial(ca_file=ca_file, cert_file=cert_file, key_file=key_file,
                       context=context)
