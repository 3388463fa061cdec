"""The city's seal on a Bescheid: a PAdES signature that validates against the seal's
certificate and leaves the PDF/A part as it was."""

from __future__ import annotations

import io
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from weasyprint import HTML

from rathaus.output.render import Seal


def test_the_seal_validates_and_the_key_is_read_once(tmp_path: Path) -> None:
    pdf = HTML(string="<p>Bescheid 523.11-2026-000001</p>").write_pdf(pdf_variant="pdf/a-3b")
    seal = Seal(tmp_path / "siegel")
    sealed = [seal.apply(pdf) for _ in range(2)]
    again = Seal(tmp_path / "siegel")  # the key and certificate made on first use are reused
    assert again.signer.signing_cert.dump() == seal.signer.signing_cert.dump()
    for out in sealed:
        assert out.startswith(pdf)  # an incremental update: the signed PDF/A bytes are untouched
        reader = PdfFileReader(io.BytesIO(out))
        (signature,) = reader.embedded_signatures
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=[seal.signer.signing_cert]))
        assert status.intact and status.valid and status.trusted
        assert signature.field_name == "Siegel"
