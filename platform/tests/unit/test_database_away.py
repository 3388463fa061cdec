"""A message whose transaction failed because the database could not be reached is retried
for as long as that lasts, never dead-lettered: the consumer tells that apart from a
message it cannot handle (which it parks after max_deliver attempts)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from rathaus.platform.kernel.consumer import database_away


def wrapped(inner: BaseException) -> RuntimeError:
    """An error raised while handling ``inner``, as SQLAlchemy and handlers chain them."""
    try:
        try:
            raise inner
        except BaseException as cause:
            raise RuntimeError("the handler's transaction failed") from cause
    except RuntimeError as outer:
        return outer


def test_a_server_shutting_down_or_refusing_connections_is_the_database_away() -> None:
    assert database_away(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert database_away(asyncpg.exceptions.CannotConnectNowError("the database system is starting up"))
    assert database_away(wrapped(ConnectionRefusedError(111, "Connect call failed")))
    assert database_away(wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")))
    lost = DBAPIError("SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True)
    assert database_away(lost)


def test_what_a_message_causes_is_not_an_outage() -> None:
    assert not database_away(ValueError("no such Vorgang"))
    assert not database_away(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not database_away(OperationalError("SELECT", {}, Exception("syntax error")))
    assert not database_away(wrapped(KeyError("aktenzeichen")))
    assert not database_away(FileNotFoundError("a blob that is not there"))  # an OSError, not a connection
