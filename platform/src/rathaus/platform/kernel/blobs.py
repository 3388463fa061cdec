"""Content-addressed, immutable object store (obstore: a local folder by default,
S3-compatible storage in production). Events carry a :class:`BlobRef`, never bytes."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from urllib.parse import urlparse

import obstore
from obstore.store import LocalStore, from_url

from rathaus.contracts.common import BlobRef


class BlobIntegrityError(Exception):
    """The bytes under a key do not match the SHA-256 of the reference."""


class BlobStore:
    """One store for the process; each module writes only under its own prefix."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        if parsed.scheme == "file":
            root = Path(parsed.path)
            root.mkdir(parents=True, exist_ok=True)
            self.store: obstore.store.ObjectStore = LocalStore(root)
        else:
            self.store = from_url(url)

    async def put(self, prefix: str, data: bytes, *, media_type: str, filename: str = "") -> BlobRef:
        """Store bytes under ``<prefix>/sha256/<hash>``; storing the same bytes twice is a no-op."""
        digest = hashlib.sha256(data).hexdigest()
        key = f"{prefix}/sha256/{digest[:2]}/{digest}"
        try:
            await obstore.head_async(self.store, key)
        except FileNotFoundError:
            await obstore.put_async(self.store, key, data)
        return BlobRef(sha256=digest, key=key, size=len(data), media_type=media_type, filename=filename)

    async def get(self, ref: BlobRef) -> bytes:
        """The bytes of a reference, checked against its hash."""
        result = await obstore.get_async(self.store, ref.key)
        data = bytes(await result.bytes_async())
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise BlobIntegrityError(ref.key)
        return data

    async def delete(self, key: str) -> None:
        """Remove the bytes under a key (records destroyed after their retention); a key
        already gone is fine."""
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self.store, key)
