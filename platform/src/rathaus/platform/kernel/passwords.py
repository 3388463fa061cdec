"""Password hashes (Argon2id) for every module that keeps passwords (citizens' accounts in
the portal, staff in the E-Akte): off the event loop, and one at a time.

Argon2id as argon2-cffi sets it up by default takes 64 MiB of memory per hash, on purpose.
Run through the event loop's default executor (six threads on two cores), a burst of
logins took six of them at once: the portal's peak RSS went from 240 MiB to 606 MiB in the
first second of `rathaus bench --only http` (32 citizens logging in), and every other user
of that executor (the write-ahead log's fsync, the uploads' content check) waited behind
them. Here they have one thread of their own: at most 64 MiB per process, and a login burst
queues. One hash already runs its four lanes on four threads of libargon2 (parallelism 4),
so a second thread added little on two cores (12 verifications in 1.84 s on two threads,
2.33 s on one, about 190 ms each) and cost a second 64 MiB: with two, two clerks logging in
at once put the E-Akte process's peak RSS 128 MiB above its working set.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


@cache
def _dummy() -> str:
    """Compared against when there is no stored hash, so that a check takes as long either
    way. Made on the first such check, on the pool's thread: at import it cost every process
    that imports this module (each one starting the portal or the E-Akte) ~190 ms of CPU."""
    return _HASHER.hash("no such account")


def _verify(stored: str | None, password: str) -> bool:
    return bool(_HASHER.verify(stored or _dummy(), password))


async def hash_password(password: str) -> str:
    """The hash to store for ``password``."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, _HASHER.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    """Does ``password`` match the stored hash? ``None`` (no such account) costs a
    verification all the same and is never a match."""
    try:
        ok = await asyncio.get_running_loop().run_in_executor(_POOL, _verify, stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and stored is not None
