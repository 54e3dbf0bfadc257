"""Certificates for the fake: a self-signed server certificate for 127.0.0.1 (msal only talks to https
authorities) and app certificates for certificate sign-in."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _certificate(common_name: str, key: rsa.RSAPrivateKey, *, server: bool) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256())


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def server_certificate(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) files for a TLS server on 127.0.0.1; the certificate is also the CA to trust."""
    key = _key()
    cert = _certificate("kcpf-fake-graph", key, server=True)
    cert_path = directory / "fake-graph-ca.pem"
    key_path = directory / "fake-graph-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_key_pem(key))
    return cert_path, key_path


def app_certificate(path: Path) -> tuple[str, str]:
    """Writes an app's PEM (private key then certificate) to `path`; returns (certificate PEM, SHA-1
    thumbprint in upper-case hex) for registering it with the fake."""
    key = _key()
    cert = _certificate("kcpf-app", key, server=False)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(_key_pem(key) + cert_pem)
    thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return cert_pem.decode("ascii"), thumbprint
