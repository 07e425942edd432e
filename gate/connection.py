"""The gate's use of its persistent database connection.

With ``CONN_HEALTH_CHECKS`` Django runs ``SELECT 1`` before the first query of every request: at
the gate that is a third round trip on a two-statement path. The gate skips it and instead
retries its first statement once, on a fresh connection, when the persistent one turns out to be
dead: the same protection, paid only when it is needed.
"""

from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connection


def health_check_skip() -> None:
    """Mark this request's connection as checked (see the module docstring)."""
    connection.health_check_done = True


def _broken() -> bool:
    raw = connection.connection
    return raw is None or raw.closed or raw.broken


def with_reconnect[T](work: Callable[[], T]) -> T:
    """Run ``work``; if it fails because the connection is dead, reconnect and run it again."""
    try:
        return work()
    except (InterfaceError, OperationalError):
        if not _broken():
            raise
        connection.close()
        return work()
