"""Keys with a self-signed certificate for the platform's own signatures where no
certificate authority is involved (SAML metadata of the portal and of the test identity
provider: the peers trust the certificate in the metadata they exchange)."""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@contextlib.contextmanager
def made_once(directory: Path, name: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<directory>/.<name>.lock`` while a key pair there is
    checked and, if missing, made: two replicas starting on one data dir would otherwise
    both make one, and one replica could end with the key of one and the certificate of
    the other. Callers check for the pair before (a pair mounted read-only from a secret is
    never locked) and again inside. The lock file is removed once the pair is there: a
    process that still waits on it finds the pair; one that comes later does not lock."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / f".{name}.lock"
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
    finally:
        os.close(fd)  # releases the lock


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write beside and rename into place: a reader sees the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def key_and_certificate(directory: Path, name: str, common_name: str) -> tuple[str, str]:
    """A 2048-bit RSA key and a self-signed certificate (ten years), created once (0600)."""
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    if key_path.exists() and cert_path.exists():
        return str(key_path), str(cert_path)
    with made_once(directory, name):
        if not (key_path.exists() and cert_path.exists()):
            _make(key_path, cert_path, common_name)
    return str(key_path), str(cert_path)


def _make(key_path: Path, cert_path: Path, common_name: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    write_atomically(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM))
