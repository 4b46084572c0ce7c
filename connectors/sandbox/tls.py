"""A local certificate authority and a server certificate for 127.0.0.1/localhost.

simple-salesforce builds every URL as https, so the Salesforce sandbox serves TLS; clients trust
it by pointing their CA bundle (`ca_bundle` setting, requests' `verify`) at `ca_cert`.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from config.errors import LeadpilotError

_HOSTS = ("localhost",)
_IPS = ("127.0.0.1", "::1")
# Renew a little before expiry so a long test run never meets an expired certificate.
_MIN_VALIDITY = timedelta(days=7)


class TlsError(LeadpilotError):
    """The sandbox certificate files could not be created or read."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA certificate clients trust, and the server's certificate and key."""

    ca_cert: Path
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "leadpilot sandbox"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _still_valid(files: TlsFiles, now: datetime) -> bool:
    try:
        ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    except (OSError, ValueError):
        return False
    if cert.issuer != ca.subject:
        return False
    return min(ca.not_valid_after_utc, cert.not_valid_after_utc) - now > _MIN_VALIDITY


def ensure_ca_and_cert(directory: str | os.PathLike[str], *, days: int = 365) -> TlsFiles:
    """Create (or reuse, when present and valid for a week more) a CA and a loopback server certificate."""
    folder = Path(directory)
    files = TlsFiles(folder / "sandbox-ca.pem", folder / "sandbox-cert.pem", folder / "sandbox-key.pem")
    now = datetime.now(UTC)
    if _still_valid(files, now):
        return files
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TlsError(f"cannot create the sandbox TLS folder {folder}: {exc.strerror or exc}") from None

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("leadpilot sandbox CA")
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName(h) for h in _HOSTS]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in _IPS]
    cert = (
        x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    try:
        files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
        files.key.chmod(0o600)
    except OSError as exc:
        raise TlsError(f"cannot write the sandbox TLS files in {folder}: {exc.strerror or exc}") from None
    return files
