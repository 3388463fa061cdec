"""Keys made on first start: replicas starting together on one data dir end with one pair."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rathaus.platform.kernel.certificates import key_and_certificate

MAKE = """
import sys
from pathlib import Path
from rathaus.platform.kernel.certificates import key_and_certificate
print(*key_and_certificate(Path(sys.argv[1]), "sp", "Test"))
"""


def make(directory: str) -> tuple[str, str]:
    return key_and_certificate(Path(directory), "sp", "Test")


def test_processes_making_the_same_key_at_once_all_use_one_matching_pair(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MAKE, str(tmp_path / "keys")], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4
    results = [(key, cert) for key, cert in outputs]
    assert len(set(results)) == 1
    key_file, cert_file = results[0]
    key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert Path(key_file).stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["sp.crt", "sp.key"]  # no lock left
    # made once: a later start reads the same pair
    assert make(str(tmp_path / "keys")) == results[0]
    assert Path(cert_file).read_bytes() == cert.public_bytes(serialization.Encoding.PEM)
