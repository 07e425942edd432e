"""Amazon's event feed (contract §5): store each event once, then apply it in a worker.

``event_receive`` validates the envelope, stores the raw body under its unique ``detail.eventId``
and commits before the endpoint answers; ``event_process`` applies a stored event to its trip
(never moving it backwards) and records what it did. Sources off the allow-list are quarantined,
test events are stored only.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from kombu.exceptions import OperationalError as BrokerError

from core.alerts import alert_raise
from core.clock import now as business_now
from core.errors import ApplicationError, FieldProblem, ValidationFailed
from core.models import AlertSeverity, OutboxMessage, OutboxStatus
from core.outbox import outbox_retry_now
from core.sql import instance_from_row, row_insert, row_update, select_list
from debt.enums import DebtRootCause
from jwo_client import wire
from trips.enums import TERMINAL_STATES, TripState

from ..enums import ChargeState, EventStatus
from ..locks import trip_and_charge_for_update
from ..models import AmazonEvent, Charge
from .settlement import (
    ZERO,
    ReportReason,
    cancel_done,
    capture_outcome,
    charge_expire,
    record_shortfall,
    report,
    trip_move,
)

logger = logging.getLogger(__name__)

ACCEPTED = "ACCEPTED"
DUPLICATE = "DUPLICATE"
INFORMATIONAL = {"AuthorizationApproved", "AuthorizationDeclined"}


def _string(container: dict, key: str, path: str, problems: list, *, required=True) -> str:
    value = container.get(key)
    problem = wire.string_problem(value)
    if problem and (required or value is not None):
        problems.append(FieldProblem(path, problem))
        return ""
    return value or ""


def _parse(raw: bytes) -> dict[str, Any]:
    if not raw or not raw.strip():
        raise ValidationFailed([FieldProblem("", "MISSING")])
    try:
        envelope = wire.loads(raw)
    except ValueError:
        raise ValidationFailed([FieldProblem("", "BAD_FORMAT")]) from None
    if not isinstance(envelope, dict):
        raise ValidationFailed([FieldProblem("", "WRONG_TYPE")])
    problems: list[FieldProblem] = []
    for key in ("version", "id", "detail-type", "source"):
        _string(envelope, key, key, problems)
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        problems.append(FieldProblem("detail", "MISSING" if detail is None else "WRONG_TYPE"))
        raise ValidationFailed(problems)
    _string(detail, "eventId", "detail.eventId", problems)
    _string(detail, "eventType", "detail.eventType", problems)
    for key in ("storeId", "shoppingTripId"):
        _string(detail, key, f"detail.{key}", problems, required=False)
    if not isinstance(detail.get("isTest"), bool):
        problem = "MISSING" if detail.get("isTest") is None else "WRONG_TYPE"
        problems.append(FieldProblem("detail.isTest", problem))
    if problems:
        raise ValidationFailed(problems)
    return envelope


def event_receive(*, raw: bytes) -> str:
    """Store one delivery; return ``ACCEPTED`` or ``DUPLICATE``. Commits before returning."""
    envelope = _parse(raw)
    detail = envelope["detail"]
    if detail["isTest"]:
        status, note = EventStatus.TEST, "test event: stored, no state change"
    elif envelope["source"] not in settings.JWO_EVENT_SOURCES:
        status, note = EventStatus.QUARANTINED, "source not on the allow-list"
    else:
        status, note = EventStatus.RECEIVED, ""
    event_time = None
    if isinstance(detail.get("eventTime"), str):
        try:
            event_time = wire.parse_timestamp(detail["eventTime"])
        except ValueError:
            event_time = None
    event = AmazonEvent(
        event_id=detail["eventId"],
        envelope_id=envelope["id"][:255],
        detail_type=envelope["detail-type"][:40],
        event_type=detail["eventType"][:60],
        source=envelope["source"][:255],
        store_ref=(detail.get("storeId") or "")[:255],
        trip_ref=(detail.get("shoppingTripId") or "")[:255],
        event_time=event_time,
        is_test=detail["isTest"],
        status=status,
        note=note,
        body=raw.decode("utf-8"),
        received_at=business_now(),
    )
    # One statement, committed on its own (no transaction to open): ON CONFLICT DO NOTHING on
    # the unique eventId, so a redelivery writes nothing.
    if not row_insert(event, on_conflict_nothing=True):
        return DUPLICATE
    if status == EventStatus.RECEIVED:
        if event.event_type in INFORMATIONAL and event.detail_type == "PAYMENT":
            transaction.on_commit(informational_kick)  # at once unless in a transaction
        else:
            transaction.on_commit(lambda: event_kick(event.pk))
    if status == EventStatus.QUARANTINED:
        alert_raise(
            key=f"event-quarantined:{envelope['source'][:100]}",
            kind="event_quarantined",
            message=f"events from source {envelope['source'][:100]!r} held in quarantine",
        )
    return ACCEPTED


# What a publish to the broker raises when it is unreachable (kombu wraps most of them).
BROKER_ERRORS = (BrokerError, redis.RedisError, OSError)


def event_kick(event_pk: int) -> None:
    from ..tasks import process_event_task

    try:
        process_event_task.apply_async((event_pk,))
    except BROKER_ERRORS:  # the sweep processes it later; the event is stored
        logger.warning("event enqueue failed; the sweep will process it", extra={"id": event_pk})


# Informational events (adjust outcomes: two per trip) are applied in batches: one queued drain
# takes every such event stored before it starts, so a burst costs one task, not one each.
DRAIN_FLAG_SECONDS = 5
DRAIN_LIMIT = 2000


def _drain_flag() -> tuple[Any, str]:
    from ..amazon import endpoint_guard

    guard = endpoint_guard()
    return guard.redis, f"{guard.prefix}events:drain-queued"


def informational_kick() -> None:
    """Queue a drain of informational events unless one is queued and not started yet.

    The flag is set here (``SET NX``, with an expiry in case the task is lost) and cleared by
    the drain before it reads the waiting events, so an event stored after that read sets it
    again and queues the next drain: no event waits for the sweep unless the broker is down.
    """
    from ..tasks import drain_informational_events_task

    try:
        client, key = _drain_flag()
        if not client.set(key, "1", nx=True, ex=DRAIN_FLAG_SECONDS):
            return  # a drain is queued and will take this event
    except redis.RedisError:
        logger.warning("drain flag unavailable; queueing a drain")
    try:
        drain_informational_events_task.apply_async()
    except BROKER_ERRORS:  # the sweep processes it later; the events are stored
        logger.warning("event drain enqueue failed; the sweep will process the events")


def informational_events_drain(*, limit: int = DRAIN_LIMIT) -> dict[str, int]:
    """Apply every stored informational event waiting (in a worker). An event that fails is
    left for the sweep (which gives it a task of its own) and does not stop the others.

    One read after clearing the flag is enough: an event stored later finds the flag cleared
    and queues the next drain.
    """
    try:
        client, key = _drain_flag()
        client.delete(key)
    except redis.RedisError:
        logger.warning("drain flag unavailable; draining anyway")
    waiting = AmazonEvent.objects.filter(
        status=EventStatus.RECEIVED, event_type__in=INFORMATIONAL
    ).order_by("pk")
    counts: dict[str, int] = {}
    for event_pk in waiting.values_list("pk", flat=True)[:limit]:
        try:
            outcome = event_process(event_pk=event_pk)
        except (DatabaseError, ApplicationError):
            logger.exception("event not applied; the sweep retries it", extra={"id": event_pk})
            outcome = "failed"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def events_sweep(*, older_than_seconds: float = 30, limit: int = 500) -> int:
    """Re-enqueue stored events not processed yet (beat safety net)."""
    cutoff = business_now() - timedelta(seconds=older_than_seconds)
    waiting = AmazonEvent.objects.filter(
        status=EventStatus.RECEIVED, received_at__lt=cutoff
    ).values_list("pk", flat=True)[:limit]
    count = 0
    for event_pk in waiting:
        event_kick(event_pk)
        count += 1
    return count


def event_release(*, event_pk: int) -> bool:
    """Staff release a quarantined event: it is processed like any other."""
    with transaction.atomic():
        updated = AmazonEvent.objects.filter(pk=event_pk, status=EventStatus.QUARANTINED).update(
            status=EventStatus.RECEIVED, note="released from quarantine"
        )
        if updated:
            transaction.on_commit(lambda: event_kick(event_pk))
    return bool(updated)


@cache
def _claim_sql() -> str:
    """The event (locked, skipped if another worker holds it), its trip and its charge."""
    columns = select_list(AmazonEvent, "e")
    charge = ", ".join(f"c.{name}" for name in _CHARGE_PEEK)
    return (
        f"SELECT {columns}, t.id, {charge} FROM payments_amazonevent e "  # noqa: S608 - metadata
        "LEFT JOIN trips_store s ON s.store_id = e.store_ref "
        "LEFT JOIN trips_shoppingtrip t ON t.store_id = s.id AND t.shopping_trip_id = e.trip_ref "
        "LEFT JOIN payments_charge c ON c.trip_id = t.id "
        "WHERE e.id = %s AND e.status = 'RECEIVED' FOR UPDATE OF e SKIP LOCKED"
    )


# What an informational event needs to know of the charge (read, not locked).
_CHARGE_PEEK = ("id", "state", "adjust_seq", "requested_amount", "opened_at")


def _claim(event_pk: int) -> tuple[AmazonEvent, int | None, Charge | None] | None:
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(), [event_pk])
        row = cursor.fetchone()
    if row is None:
        return None
    event, at = instance_from_row(AmazonEvent, row)
    trip_pk = row[at]
    peek = row[at + 1 :]
    charge = None
    if peek[0] is not None:
        charge = Charge.from_db(connection.alias, list(_CHARGE_PEEK), list(peek))
    return event, trip_pk, charge


def event_process(*, event_pk: int) -> str:
    """Apply one stored event. Safe to run twice and concurrently (the row is claimed)."""
    with transaction.atomic():
        claimed = _claim(event_pk)
        if claimed is None:
            return "busy-or-done"
        event, trip_pk, charge = claimed
        event.attempts += 1
        status, note = _apply(event, wire.loads(event.body)["detail"], trip_pk, charge)
        event.status = status
        event.note = note[:300]
        event.processed_at = business_now()
        row_update(event, ["status", "note", "processed_at", "attempts", "trip"])
    if status == EventStatus.CONFLICT:
        alert_raise(
            key=f"event-conflict:{event.trip_ref}",
            kind="payments_conflict",
            severity=AlertSeverity.CRITICAL,
            message=f"trip {event.trip_ref}: {event.event_type} conflicts: {note}"[:500],
        )
    return status


def _apply(
    event: AmazonEvent, detail: dict, trip_pk: int | None, peeked: Charge | None
) -> tuple[str, str]:
    if trip_pk is None:
        return EventStatus.IGNORED, "no such trip here"
    event.trip_id = trip_pk
    kind = event.event_type
    if event.detail_type != "PAYMENT":
        return EventStatus.IGNORED, f"{event.detail_type} events are stored only"
    if kind in INFORMATIONAL:
        return _informational(peeked, event, detail)
    if kind not in ("CaptureApproved", "CaptureDeclined", "AuthorizationCancelled"):
        return EventStatus.IGNORED, f"{kind}: stored only"
    trip, charge = trip_and_charge_for_update(trip_pk=trip_pk)
    amount = None
    if isinstance(detail.get("amount"), dict):
        amount = detail["amount"].get("amount")
    if kind.startswith("Capture"):
        if charge is None:
            return EventStatus.CONFLICT, "capture event for a trip without a charge"
        result = capture_outcome(
            trip,
            charge,
            approved=kind == "CaptureApproved",
            amount=amount,
            decline_reason=detail.get("declineReason") or "",
        )
        return _status_of(result), f"{kind}: {result}"
    return _cancelled(trip, charge, detail)


def _status_of(result: str) -> str:
    return {
        "processed": EventStatus.PROCESSED,
        "ignored": EventStatus.IGNORED,
        "conflict": EventStatus.CONFLICT,
    }[result]


def _cancelled(trip, charge, detail) -> tuple[str, str]:
    if detail.get("declineReason") == "PREAUTH_EXPIRED":
        if charge is None:
            return _expired_without_charge(trip)
        return _status_of(charge_expire(trip, charge, source="event: PREAUTH_EXPIRED")), "expired"
    if charge is None:
        return EventStatus.IGNORED, "release for a trip without a charge"
    if charge.state == ChargeState.CANCELLING:
        cancel_done(trip, charge, actor="amazon")  # the event overtook our 200
    if charge.state == ChargeState.CANCELLED:
        if charge.release_confirmed_at is None:
            charge.release_confirmed_at = business_now()
            charge.save(update_fields=["release_confirmed_at", "updated_at"])
        return EventStatus.PROCESSED, "release confirmed"
    return EventStatus.CONFLICT, f"release reported while the charge is {charge.state}"


def _expired_without_charge(trip) -> tuple[str, str]:
    """The window closed before the cart was settled (never priced, or still in review)."""
    if trip.state in TERMINAL_STATES:
        return EventStatus.IGNORED, "expiry after the trip was settled"
    total = trip.cart_total or ZERO
    if total > ZERO:
        record_shortfall(
            trip,
            cart_total=total,
            settled=ZERO,
            root_cause=DebtRootCause.PREAUTH_EXPIRED,
            reason="pre-auth expired before settlement",
            actor="amazon",
            to_state=TripState.EXPIRED,
        )
        report(trip, total=total, settled=ZERO, reason=ReportReason.EXPIRED)
    else:
        trip_move(trip, TripState.EXPIRED, reason="pre-auth expired before a cart", actor="amazon")
    alert_raise(
        key=f"payments-expired-unsettled:{trip.pk}",
        kind="payments_expired_unsettled",
        severity=AlertSeverity.CRITICAL,
        message=f"trip {trip.shopping_trip_id} expired before it was settled ({trip.state})",
    )
    return EventStatus.PROCESSED, "expired before settlement"


def _informational(charge: Charge | None, event: AmazonEvent, detail: dict) -> tuple[str, str]:
    """Adjust outcomes are driven by our calls. A PENDING charge whose adjust Amazon has now
    decided (an outcome after the charge opened, for the pending amount) polls at once."""
    if (
        charge is not None
        and charge.state == ChargeState.ADJUST_PENDING
        and event.event_time is not None
        and event.event_time > charge.opened_at
        and _for_pending_amount(event.event_type, detail, charge.requested_amount)
    ):
        prefix = f"adjust:{charge.pk}:{charge.adjust_seq}:poll"
        waiting = list(
            OutboxMessage.objects.filter(
                key__startswith=prefix, status=OutboxStatus.PENDING
            ).values_list("pk", flat=True)
        )
        for message_id in waiting:
            outbox_retry_now(message_id=message_id)
        if waiting:
            return EventStatus.PROCESSED, "pending adjust: poll brought forward"
    return EventStatus.IGNORED, "informational: adjust answers drive the charge"


def _for_pending_amount(event_type: str, detail: dict, requested) -> bool:
    amount = detail.get("amount")
    value = amount.get("amount") if isinstance(amount, dict) else None
    if value is None or requested is None:
        return False
    if event_type == "AuthorizationDeclined":
        return value == requested
    return 0 < value <= requested
