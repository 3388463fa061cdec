"""The kernel's password hashes: Argon2id, checked off the event loop on one thread of
its own (each hash takes 64 MiB; a burst of logins must not take every thread)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from rathaus.platform.kernel import passwords
from rathaus.platform.kernel.passwords import hash_password, verify_password


async def test_a_hash_verifies_its_password_only() -> None:
    stored = await hash_password("lang-genug-2026")
    assert stored.startswith("$argon2id$") and "lang-genug-2026" not in stored
    assert await verify_password(stored, "lang-genug-2026")
    assert not await verify_password(stored, "lang-genug-2027")
    assert not await verify_password(None, "no such account")  # no account: never a match
    assert not await verify_password("kein Hash", "lang-genug-2026")  # a broken stored value


async def test_hashes_run_on_a_thread_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[str] = set()
    loop_thread = threading.current_thread().name

    class Recording:
        def verify(self, stored: str, password: str) -> bool:
            threads.add(threading.current_thread().name)
            return True

        def hash(self, password: str) -> str:
            threads.add(threading.current_thread().name)
            return "$argon2id$recorded"

    recording: Any = Recording()
    monkeypatch.setattr(passwords, "_HASHER", recording)
    await asyncio.gather(*(verify_password("$argon2id$x", "p") for _ in range(8)), hash_password("p"))
    assert threads and all(name.startswith("argon2") for name in threads), threads
    assert loop_thread not in threads
    assert passwords._POOL._max_workers == 1  # at most 64 MiB at once
