"""Group commit for the decision log: concurrent decisions of one process share one statement.

Each decision's write is five inserts; alone, it also pays a statement, a transaction, a commit
and two process wake-ups (ours and PostgreSQL's backend), which cost as much as the inserts. So
the request threads of a process take turns as the *writer*:

- a thread whose decision is ready writes it at once if no write of this process is running
  (no waiting at all when the gate is quiet: a batch of one, the single-decision statement);
- otherwise it queues its write and sleeps. When the running write commits, its writer wakes
  the first queued thread, which becomes the next writer and takes every queued write (up to
  ``GATE_GROUP_COMMIT_MAX``) into one statement and one transaction.

Every request still answers only after its own row is committed, and a write still fails or
succeeds whole: the batch is one transaction. Writes of the same gate event id or of the same
trip never share a batch (the later one waits for the next), so idempotency and the trip link
behave as when each decision is written alone. A batch that hits a unique-key race with another
process (a shopper's first sight), a deadlock with another process's batch (two groups entering,
their trips locked in opposite orders) or its budget (one decision waiting on a trip another
transaction holds) is written again one decision at a time, each with its own remaining budget
and retried once: the batch was one transaction, so it wrote nothing.

Deadlines: a queued write whose budget runs out before a writer takes it is dropped (its
request answers without the row, as for any failed write); a batch runs under the earliest
remaining budget of its writes, so no request waits longer for its write than its own budget.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError

from ..deadline import BudgetExceeded

logger = logging.getLogger("jwo.gate")

DEFAULT_MAX_BATCH = 16
# A failed batch is rolled back whole; these failures are retried one decision at a time:
# deadlock, serialization failure, lock not available.
RETRY_ALONE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})
# A decision retried alone needs at least this much of its budget left.
MIN_ALONE_BUDGET_SECONDS = 0.01


def _sqlstate(error: BaseException) -> str | None:
    return getattr(error.__cause__, "sqlstate", None)


@dataclass(eq=False)
class PendingWrite:
    argument: str  # the single-decision statement's JSON argument
    event_id: str
    trip_key: tuple[int, str]
    deadline: float  # time.monotonic() by which the write must be done
    synchronous_commit: bool
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to write the next batch, not with a result
    row: tuple | None = None
    error: BaseException | None = None


class GroupWriter:
    """One per process; see the module docstring. ``execute`` writes a list of pending writes
    on the calling thread's connection and returns one row per write."""

    def __init__(self, execute: Callable[[list[PendingWrite]], list[tuple]]):
        self._execute = execute
        self._lock = threading.Lock()
        self._queue: list[PendingWrite] = []
        self._busy = False

    def write(self, pending: PendingWrite) -> tuple:
        """Write ``pending`` (alone or with others) and return its row once committed."""
        with self._lock:
            lead = not self._busy
            if lead:
                self._busy = True
            else:
                self._queue.append(pending)
        if not lead:
            self._wait(pending)
        if pending.lead or lead:
            try:
                self._write_batch(pending, self._take(pending))
            finally:
                self._hand_over()
        if pending.error is not None:
            raise pending.error
        return pending.row

    def _wait(self, pending: PendingWrite) -> None:
        if pending.done.wait(max(pending.deadline - time.monotonic(), 0)):
            return
        with self._lock:
            if pending in self._queue:  # still queued: give up, the request answers anyway
                self._queue.remove(pending)
                pending.error = BudgetExceeded("queued past its write budget")
                return
        pending.done.wait()  # already taken into a batch: its statement has its own deadline

    def _take(self, leader: PendingWrite) -> list[PendingWrite]:
        limit = getattr(settings, "GATE_GROUP_COMMIT_MAX", DEFAULT_MAX_BATCH)
        batch = [leader]
        events, trips = {leader.event_id}, {leader.trip_key}
        with self._lock:
            kept = []
            for queued in self._queue:
                compatible = queued.event_id not in events and queued.trip_key not in trips
                if compatible and len(batch) < limit:
                    batch.append(queued)
                    events.add(queued.event_id)
                    trips.add(queued.trip_key)
                else:
                    kept.append(queued)
            self._queue[:] = kept
        now = time.monotonic()
        for late in [write for write in batch if write.deadline <= now]:
            late.error = BudgetExceeded("queued past its write budget")
            if late is not leader:
                late.done.set()
        return [write for write in batch if write.error is None]

    def _write_batch(self, leader: PendingWrite, batch: list[PendingWrite]) -> None:
        """Execute ``batch`` on this (the leader's) thread and hand each write its outcome."""
        try:
            try:
                rows = self._execute(batch) if batch else []
            except IntegrityError:
                # A race with another process on a unique key (a shopper seen for the first
                # time): each decision again on its own, retried once, as without batching.
                logger.info("gate: write raced a concurrent insert; retrying one by one")
                self._retry_alone(leader, batch)
                return
            except OperationalError as error:
                if len(batch) < 2 or _sqlstate(error) not in RETRY_ALONE_SQLSTATES:
                    raise
                # Two processes' batches locked the same trips in opposite orders (a group
                # entering): PostgreSQL rolled this one back whole. Each decision alone cannot
                # close such a cycle.
                logger.warning(
                    "gate: group write rolled back (%s); retrying one by one", _sqlstate(error)
                )
                self._retry_alone(leader, batch)
                return
            except BudgetExceeded:
                if len(batch) < 2:
                    raise
                # The batch ran under its earliest budget and one decision waited (a trip
                # another transaction holds): the rest, with budget left, go on their own.
                logger.warning("gate: group write over budget; retrying the others one by one")
                self._retry_alone(leader, batch)
                return
            for write, row in zip(batch, rows, strict=True):
                write.row = row
        except BaseException as error:
            for write in batch:
                if write.row is None and write.error is None:
                    write.error = error if write is leader else _copy(error)
            if not isinstance(error, Exception):
                raise
        finally:
            for write in batch:
                if write is not leader:
                    write.done.set()

    def _retry_alone(self, leader: PendingWrite, batch: list[PendingWrite]) -> None:
        """Write each decision of a failed batch on its own (the batch wrote nothing: it was one
        transaction, rolled back whole); one whose budget is gone fails as if queued too long."""
        for write in batch:
            if write.deadline - time.monotonic() < MIN_ALONE_BUDGET_SECONDS:
                error = BudgetExceeded("group write failed and no budget is left to retry")
                write.error = error if write is leader else _copy(error)
                continue
            self._write_alone(write, own=write is leader)

    def _write_alone(self, write: PendingWrite, *, own: bool) -> None:
        for attempt in range(2):
            try:
                write.row = self._execute([write])[0]
                return
            except Exception as error:  # noqa: BLE001 - handed to the request that owns it
                retryable = isinstance(error, IntegrityError) or (
                    isinstance(error, OperationalError)
                    and _sqlstate(error) in RETRY_ALONE_SQLSTATES
                )
                if retryable and not attempt:
                    continue  # the other insert is committed now: the next try sees it
                write.error = error if own else _copy(error)
                return

    def _hand_over(self) -> None:
        with self._lock:
            if self._queue:
                successor = self._queue.pop(0)
                successor.lead = True
                successor.done.set()
            else:
                self._busy = False


def _copy(error: BaseException) -> BaseException:
    """An exception of the same family for another request's thread to raise."""
    copied: BaseException
    if isinstance(error, BudgetExceeded):
        copied = BudgetExceeded(str(error))
    else:
        copied = DatabaseError(f"group write failed: {type(error).__name__}")
    copied.__cause__ = error
    return copied
