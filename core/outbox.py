"""Transactional outbox: outbound calls that must not be lost.

A row is inserted in the same transaction as the business change (``outbox_enqueue``). After
commit, a delivery task is enqueued (fast path); a beat sweep re-enqueues anything due and re-opens
rows whose lease expired (safety net), so a process dying after COMMIT or a broker outage loses
nothing. Delivery locks the row, marks it in flight and commits, calls out with no transaction open,
then locks the row again and records the outcome together with its business effect.

Handlers are registered per ``kind`` by the owning app (in ``AppConfig.ready``).

**Delivery in this process** (``outbox_chaining``): a message queued inside that block (due now)
is written already claimed (in flight, one attempt, with its lease) and delivered by this
process right after the commit, without a broker message or a claim transaction. If the process
dies first, the lease expires and the sweep re-opens and delivers it, as for any claimed call.

The hot statements (claim, outcome) are single ``UPDATE … RETURNING`` statements with cached
text: the row lock, the status check and the change in one round trip.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.db import DatabaseError, connection, transaction
from kombu.exceptions import OperationalError as BrokerError

from . import clock
from .alerts import alert_raise
from .models import AlertSeverity, OutboxMessage, OutboxStatus
from .sql import instance_from_row, row_insert, select_list

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 90
SWEEP_BATCH = 500


class RetryLater(Exception):
    """The call did not succeed but may later: try again after ``seconds``."""

    def __init__(self, seconds: float, *, status: str = "", detail: str = ""):
        super().__init__(detail or status)
        self.seconds = max(0.0, float(seconds))
        self.status = status
        self.detail = detail


class GiveUp(Exception):
    """The call can never succeed as it is: mark the message dead and alert a human."""

    def __init__(self, *, status: str = "", detail: str = ""):
        super().__init__(detail or status)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class OutboxHandler:
    kind: str
    # Makes the call, no transaction open; returns a JSON-able result or raises RetryLater/GiveUp.
    # None: there is no call to make (``local``).
    send: Callable[[OutboxMessage], dict] | None
    # Records the business effect of a success, inside the transaction that marks the row done.
    on_success: Callable[[OutboxMessage, dict], None] | None = None
    # Records the business effect of giving up, inside the transaction that marks the row dead.
    on_dead: Callable[[OutboxMessage], None] | None = None
    queue: str = "outbox"
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    max_attempts: int | None = None
    # After this time no retry is scheduled: the message is dead (e.g. a pre-auth deadline).
    give_up_at: Callable[[OutboxMessage], datetime | None] | None = None

    @property
    def local(self) -> bool:
        """No outbound call (``send`` is None): ``on_success`` runs in the claim's transaction."""
        return self.send is None


_handlers: dict[str, OutboxHandler] = {}
_leases: dict[str, str] = {"json": "{}"}  # kind -> lease seconds, as the claim's jsonb argument
_chaining: ContextVar[bool] = ContextVar("outbox_chaining", default=False)


def outbox_handler_register(handler: OutboxHandler) -> OutboxHandler:
    _handlers[handler.kind] = handler
    _leases["json"] = json.dumps({kind: h.lease_seconds for kind, h in _handlers.items()})
    return handler


@contextmanager
def outbox_chaining(enabled: bool = True) -> Iterator[None]:
    """Deliver the messages queued (due now) inside this block in this process after commit."""
    token = _chaining.set(enabled)
    try:
        yield
    finally:
        _chaining.reset(token)


def outbox_handler_get(kind: str) -> OutboxHandler:
    try:
        return _handlers[kind]
    except KeyError:
        raise LookupError(f"no outbox handler for kind {kind!r}") from None


def full_jitter_backoff(attempt: int, *, base: float = 1.0, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempt-1)))."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(0, ceiling)


def outbox_enqueue(
    *,
    kind: str,
    key: str,
    payload: dict,
    store_ref: str = "",
    trip_ref: str = "",
    available_at: datetime | None = None,
) -> OutboxMessage:
    """Record an outbound call in the caller's transaction; the same key again is a no-op.

    Inside ``outbox_chaining`` a message due now is written claimed and delivered by this
    process after the commit; otherwise delivery is enqueued on the broker after the commit.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the business change's transaction")
    at = clock.now()
    handler = _handlers.get(kind)
    here = _chaining.get() and available_at is None and handler is not None
    message = OutboxMessage(
        kind=kind,
        key=key,
        payload=payload,
        store_ref=store_ref,
        trip_ref=trip_ref,
        next_attempt_at=available_at or at,
        created_at=at,
    )
    if here and not handler.local:
        message.status = OutboxStatus.IN_FLIGHT
        message.attempts = 1
        message.lease_expires_at = at + timedelta(seconds=handler.lease_seconds)
    # ON CONFLICT DO NOTHING: a repeated key is no error and needs no savepoint.
    if not row_insert(message, on_conflict_nothing=True):
        existing = OutboxMessage.objects.get(key=key)
        if here:  # queued before and still waiting (a retry): deliver it now, here
            transaction.on_commit(lambda: _deliver_now(existing.pk), robust=True)
        return existing
    if here and not handler.local:
        transaction.on_commit(lambda: _deliver_claimed(message, handler), robust=True)
    elif here:
        transaction.on_commit(lambda: outbox_deliver(message_id=message.pk), robust=True)
    elif available_at is None or available_at <= at:
        transaction.on_commit(lambda: outbox_kick(message.pk, kind=kind))
    return message


def outbox_kick(message_id: int, *, kind: str) -> None:
    """Enqueue delivery. If the broker is down the sweep delivers it later; nothing is lost."""
    from .tasks import outbox_deliver_task

    handler = _handlers.get(kind)
    queue = handler.queue if handler else "outbox"
    try:
        outbox_deliver_task.apply_async((message_id,), queue=queue)
    except (BrokerError, OSError) as error:
        logger.warning(
            "outbox enqueue failed; the sweep will deliver",
            extra={"message_id": message_id, "error": type(error).__name__},
        )


@cache
def _returning() -> str:
    return select_list(OutboxMessage)


def _message_from(row) -> OutboxMessage:
    return instance_from_row(OutboxMessage, row)[0]


def _update_returning(assignments: str, where: str, params: list) -> OutboxMessage | None:
    # Text from constants in this module only; every value is a parameter.
    sql = f"UPDATE core_outboxmessage SET {assignments} WHERE {where} RETURNING {_returning()}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return _message_from(row) if row is not None else None


def _claim(message_id: int, now: datetime) -> OutboxMessage | None:
    """Mark a due message of a registered kind in flight, in one statement (its own commit).

    A row another transaction holds is waited for, then checked again (PostgreSQL re-reads it),
    so two deliveries never both claim it.
    """
    return _update_returning(
        "status = 'IN_FLIGHT', attempts = attempts + 1, "
        "lease_expires_at = %s::timestamptz + make_interval(secs => (%s::jsonb ->> kind)::float8)",
        "id = %s AND status = 'PENDING' AND next_attempt_at <= %s AND %s::jsonb ? kind",
        [now, _leases["json"], message_id, now, _leases["json"]],
    )


def outbox_deliver(*, message_id: int) -> str:
    """Deliver one message if it is due. Safe to run twice and concurrently."""
    now = clock.now()
    message = None
    try:
        with transaction.atomic():
            message = _claim(message_id, now)
            if message is not None:
                handler = _handlers[message.kind]
                if handler.local:  # nothing to call: the claim and the effect commit together
                    _succeed(message, handler, {}, now)
                    return "succeeded"
    except Exception as error:
        if message is not None and handler.local:
            _count_local_failure(message, error, now)
        raise
    if message is None:
        return _not_claimed(message_id, now)
    return _send_and_record(message, handler)


def _count_local_failure(message: OutboxMessage, error: Exception, now: datetime) -> None:
    """A local handler's effect failed and rolled its claim back: count the attempt, keep the
    error, and let the sweep try again after a backoff."""
    attempts = message.attempts  # as claimed (the claim itself was rolled back)
    try:
        OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.PENDING).update(
            attempts=attempts,
            next_attempt_at=now + timedelta(seconds=full_jitter_backoff(attempts)),
            last_error=f"{type(error).__name__}: {error}"[:500],
        )
    except DatabaseError:
        logger.warning("could not count a failed local delivery", extra={"message_id": message.pk})


def _not_claimed(message_id: int, now: datetime) -> str:
    """Why a message was not claimed: busy, finished, not due yet, or no handler here."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=message_id).first()
        )
        if message is None:
            return "busy"
        if message.status != OutboxStatus.PENDING:
            return message.status.lower()
        if message.next_attempt_at > now:
            return "not-due"
        if message.kind in _handlers:
            return "busy"  # claimed and released between the two statements; try again later
        # Written by a newer release than this worker's, or a missing registration: keep it,
        # try again in a minute, and tell an operator. Never drop it.
        message.next_attempt_at = now + timedelta(seconds=60)
        message.last_error = "no handler registered for this kind in this process"
        message.save(update_fields=["next_attempt_at", "last_error"])
        alert_raise(
            key=f"outbox-no-handler:{message.kind}",
            kind="outbox_no_handler",
            severity=AlertSeverity.CRITICAL,
            message=f"no outbox handler for {message.kind}",
        )
        return "no-handler"


def _deliver_now(message_id: int) -> str | None:
    """Make a waiting message due now and deliver it in this process."""
    now = clock.now()
    made_due = OutboxMessage.objects.filter(pk=message_id, status=OutboxStatus.PENDING).update(
        next_attempt_at=now
    )
    return outbox_deliver(message_id=message_id) if made_due else None


def _deliver_claimed(message: OutboxMessage, handler: OutboxHandler) -> str:
    """Deliver a message this process wrote claimed (``outbox_chaining``), after its commit."""
    return _send_and_record(message, handler)


def _send_and_record(message: OutboxMessage, handler: OutboxHandler) -> str:
    """Call out with no transaction open, then record the outcome."""
    try:
        result = handler.send(message)
    except RetryLater as retry:
        return _record_retry(message, handler, retry)
    except GiveUp as give_up:
        return _record_dead(message, handler, give_up.status, give_up.detail)
    return _record_success(message, handler, result or {})


def _lock_for_outcome(message: OutboxMessage) -> OutboxMessage | None:
    current = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if current.status in (OutboxStatus.SUCCEEDED, OutboxStatus.DEAD):
        return None  # another delivery already recorded an outcome
    return current


def _succeed(message: OutboxMessage, handler: OutboxHandler, result: dict, now) -> bool:
    """Mark the message done (unless another delivery already finished it) and apply its
    effect, in the caller's transaction."""
    current = _update_returning(
        "status = 'SUCCEEDED', result = %s, finished_at = %s, lease_expires_at = NULL, "
        "last_error = ''",
        "id = %s AND status NOT IN ('SUCCEEDED', 'DEAD')",
        [OutboxMessage._meta.get_field("result").get_db_prep_save(result, connection), now,
         message.pk],
    )  # fmt: skip
    if current is None:
        return False  # another delivery already recorded an outcome
    if handler.on_success is not None:
        handler.on_success(current, result)
    return True


def _record_success(message: OutboxMessage, handler: OutboxHandler, result: dict) -> str:
    with transaction.atomic():
        if not _succeed(message, handler, result, clock.now()):
            return "already-finished"
    return "succeeded"


def _record_retry(message: OutboxMessage, handler: OutboxHandler, retry: RetryLater) -> str:
    now = clock.now()
    next_at = now + timedelta(seconds=retry.seconds)
    out_of_attempts = handler.max_attempts is not None and message.attempts >= handler.max_attempts
    give_up_at = handler.give_up_at(message) if handler.give_up_at else None
    if out_of_attempts or (give_up_at is not None and next_at >= give_up_at):
        reason = "attempts exhausted" if out_of_attempts else "deadline reached"
        return _record_dead(message, handler, retry.status, f"{reason}: {retry.detail}")
    with transaction.atomic():
        current = _lock_for_outcome(message)
        if current is None:
            return "already-finished"
        current.status = OutboxStatus.PENDING
        current.next_attempt_at = next_at
        current.lease_expires_at = None
        current.last_status_code = retry.status[:60]
        current.last_error = retry.detail[:500]
        current.save(
            update_fields=[
                "status",
                "next_attempt_at",
                "lease_expires_at",
                "last_status_code",
                "last_error",
            ]
        )
    return "retry"


def _record_dead(message: OutboxMessage, handler: OutboxHandler, status: str, detail: str) -> str:
    with transaction.atomic():
        current = _lock_for_outcome(message)
        if current is None:
            return "already-finished"
        current.status = OutboxStatus.DEAD
        current.finished_at = clock.now()
        current.lease_expires_at = None
        current.last_status_code = status[:60]
        current.last_error = detail[:500]
        current.save(
            update_fields=[
                "status",
                "finished_at",
                "lease_expires_at",
                "last_status_code",
                "last_error",
            ]
        )
        if handler.on_dead is not None:
            handler.on_dead(current)
        alert_raise(
            key=f"outbox-dead:{current.key}",
            kind="outbox_dead",
            severity=AlertSeverity.CRITICAL,
            message=f"{current.kind} gave up after {current.attempts} attempts: {status}",
            context={"message_id": current.pk, "trip": current.trip_ref, "status": status},
        )
    return "dead"


def outbox_retry_now(*, message_id: int) -> OutboxMessage:
    """Operator action: put a dead or waiting message back in line, due now."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message_id)
        if message.status in (OutboxStatus.DEAD, OutboxStatus.PENDING):
            message.status = OutboxStatus.PENDING
            message.next_attempt_at = clock.now()
            message.finished_at = None
            message.save(update_fields=["status", "next_attempt_at", "finished_at"])
            transaction.on_commit(lambda: outbox_kick(message.pk, kind=message.kind))
    return message


def outbox_sweep(*, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Re-open expired leases and enqueue every due message (run by beat every 15 s)."""
    now = clock.now()
    with transaction.atomic():
        expired = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxStatus.IN_FLIGHT, lease_expires_at__lt=now)
            .values_list("pk", flat=True)[:limit]
        )
        if expired:
            OutboxMessage.objects.filter(pk__in=expired).update(
                status=OutboxStatus.PENDING, next_attempt_at=now, lease_expires_at=None
            )
    due = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", "kind")[:limit]
    )
    for message_id, kind in due:
        outbox_kick(message_id, kind=kind)
    return {"reopened": len(expired), "enqueued": len(due)}


def outbox_deliver_due(*, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Deliver every due message in this process (operators, demo, tests)."""
    now = clock.now()
    counts: dict[str, int] = {}
    due = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in due:
        outcome = outbox_deliver(message_id=message_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
