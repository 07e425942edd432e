"""Statement deadlines for the gate: cancel a PostgreSQL statement that outlives its budget.

Equivalent to ``SET LOCAL statement_timeout`` without its cost: that needs a transaction (BEGIN,
SET, the query, COMMIT: four round trips), while the gate's hot path is two autocommit
statements. Instead one watchdog thread per process keeps the deadlines of running statements and,
when one passes, asks the server to cancel that backend's statement (PostgreSQL's cancel request,
``psycopg.Connection.cancel_safe``). The server aborts it with ``QueryCanceled`` and the gate
answers with its fallback. Arming a deadline costs a heap push under a lock (a few microseconds).

A cancel that races the statement's own completion is harmless for the result, but could in
principle reach the connection's next statement, so in that case the connection is closed and
Django opens a fresh one for the next statement.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from contextlib import contextmanager

from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

CANCEL_TIMEOUT_SECONDS = 1.0


class BudgetExceeded(Exception):
    """The guarded statements did not finish within their budget and were cancelled."""


class _Token:
    __slots__ = ("finished", "fired", "lock", "pgconn")

    def __init__(self, pgconn):
        self.lock = threading.Lock()
        self.pgconn = pgconn
        self.finished = False
        self.fired = False

    def expire(self) -> None:
        with self.lock:
            if self.finished:
                return
            self.fired = True
            try:
                self.pgconn.cancel_safe(timeout=CANCEL_TIMEOUT_SECONDS)
            except Exception as error:  # noqa: BLE001 - a failed cancel must not kill the watchdog
                logger.warning("gate deadline: cancel failed", extra={"error": repr(error)[:200]})

    def finish(self) -> bool:
        """Mark the guarded work done; True when the deadline fired first."""
        with self.lock:
            self.finished = True
            return self.fired


class _Watchdog:
    def __init__(self):
        self._condition = threading.Condition()
        self._heap: list = []
        self._sequence = itertools.count()
        self._pid: int | None = None

    def arm(self, deadline: float, token: _Token) -> None:
        with self._condition:
            if self._pid != os.getpid():  # first use, or first use after a fork
                self._heap.clear()
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="gate-deadlines", daemon=True).start()
            heapq.heappush(self._heap, (deadline, next(self._sequence), token))
            if self._heap[0][2] is token:
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                # Statements that already finished need no wake-up: most are gone in a few ms.
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._condition.wait()
                    continue
                deadline, _sequence, token = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._condition.wait(delay)
                    continue
                heapq.heappop(self._heap)
            token.expire()


_watchdog = _Watchdog()


@contextmanager
def statement_deadline(seconds: float, *, using: str = "default"):
    """Run the block's statements under a deadline; raise ``BudgetExceeded`` when it passes.

    The connection is opened before the deadline is armed (a persistent connection is already
    open); connecting is bounded by the database's connect timeout, not by this budget.
    """
    connection = connections[using]
    connection.ensure_connection()
    token = _Token(connection.connection)
    _watchdog.arm(time.monotonic() + seconds, token)
    try:
        yield
    except DatabaseError as error:
        if token.finish():
            raise BudgetExceeded(f"over {seconds * 1000:.0f} ms") from error
        raise
    except BaseException:
        if token.finish():
            connection.close()
        raise
    if token.finish():
        # Finished just as the cancel went out: keep no connection that a cancel may still hit.
        connection.close()
        raise BudgetExceeded(f"over {seconds * 1000:.0f} ms")
