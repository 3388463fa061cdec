"""A Bescheid's HTML as PDF/A-3b (weasyprint), then sealed with the city's electronic seal (PAdES)."""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.general import get_pyca_cryptography_hash

from rathaus.output.domain import CITY
from rathaus.platform.kernel.certificates import made_once, write_atomically
from rathaus.platform.kernel.typeset import write_pdf


def render_pdf(html: str) -> bytes:
    """PDF/A-3b of the HTML. A template may embed only ``data:`` URLs: no file of this
    machine and no address on the network ends up in (or is reached by) a Bescheid."""
    return write_pdf(html, pdf_variant="pdf/a-3b", pdf_identifier=True)


class _SealSigner(signers.SimpleSigner):
    """pyHanko's ``SimpleSigner`` parses the private key again for every signature, and
    OpenSSL validates an RSA key on every parse: with a 3072-bit key that was about half
    of the platform's CPU under load (py-spy, ``rathaus bench --only cases``). This one
    keeps the parsed key, and answers pyHanko's size estimate (``dry_run``) with a
    placeholder of the signature's length instead of signing twice."""

    key: rsa.RSAPrivateKey | None = None

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        key = self.key
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if key is None or mechanism != "rsassa_pkcs1v15":
            return await super().async_sign_raw(data, digest_algorithm, dry_run)
        if dry_run:
            return bytes(key.key_size // 8)  # an RSA signature is exactly as long as the modulus
        return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))


class Seal:
    """The city's electronic seal: a key and certificate under the data dir (a demo
    certificate, self-signed, made on first use; production configures a qualified one)."""

    def __init__(self, folder: Path) -> None:
        self.key_path, self.cert_path = folder / "siegel.key.pem", folder / "siegel.cert.pem"
        if not (self.key_path.exists() and self.cert_path.exists()):
            with made_once(folder, "siegel"):  # replicas on one data dir make one seal, not two
                if not (self.key_path.exists() and self.cert_path.exists()):
                    self._create()
        loaded = signers.SimpleSigner.load(str(self.key_path), str(self.cert_path))
        if loaded is None:
            raise RuntimeError(f"the seal's key or certificate in {folder} cannot be read")
        signer = _SealSigner(
            signing_cert=loaded.signing_cert,
            signing_key=loaded.signing_key,
            cert_registry=loaded.cert_registry,
        )
        key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        signer.key = key if isinstance(key, rsa.RSAPrivateKey) else None
        self.signer = signer

    def _create(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, CITY),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{CITY} – Elektronisches Siegel (Demo)"),
            ]
        )
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        write_atomically(
            self.key_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            0o600,
        )
        write_atomically(self.cert_path, cert.public_bytes(serialization.Encoding.PEM))

    def apply(self, pdf: bytes) -> bytes:
        """A PAdES seal as an incremental update, so the PDF/A-3b part stays untouched."""
        writer = IncrementalPdfFileWriter(BytesIO(pdf))
        out = signers.sign_pdf(
            writer,
            signers.PdfSignatureMetadata(field_name="Siegel", reason="Elektronisches Siegel"),
            signer=self.signer,
        )
        return out.getvalue()
