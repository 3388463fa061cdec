"""The content-addressed blob store on a local folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rathaus.platform.kernel.blobs import BlobIntegrityError, BlobStore


async def test_put_is_content_addressed_idempotent_and_checked_on_read(tmp_path: Path) -> None:
    store = BlobStore((tmp_path / "blobs").as_uri())
    data = b"%PDF-1.7 a scan"
    ref = await store.put("input", data, media_type="application/pdf", filename="scan.pdf")
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.key == f"input/sha256/{ref.sha256[:2]}/{ref.sha256}"
    assert ref.size == len(data) and ref.filename == "scan.pdf"
    assert await store.put("input", data, media_type="application/pdf") == ref.__class__(
        sha256=ref.sha256, key=ref.key, size=ref.size, media_type="application/pdf"
    )
    assert await store.get(ref) == data
    (tmp_path / "blobs" / ref.key).write_bytes(b"tampered")
    with pytest.raises(BlobIntegrityError):
        await store.get(ref)
