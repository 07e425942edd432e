"""Outbox handlers of the payments app: one per kind of call to Amazon, registered in ``ready``.

``send`` makes the call with no transaction open and returns a JSON-able dict (or raises
``RetryLater`` / ``GiveUp`` through ``amazon_call``); ``on_success`` records the exchange and
applies its outcome in the transaction that marks the outbox row done; ``on_dead`` parks the trip.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection

from core.alerts import alert_raise
from core.clock import now as business_now
from core.models import AlertSeverity, OutboxMessage
from core.outbox import OutboxHandler, RetryLater, outbox_handler_register
from jwo_client.payment_messages import (
    AdjustChargeRequest,
    CancelChargeRequest,
    CaptureChargeRequest,
    PaymentStatusReport,
    TransactionalDataRequest,
)
from trips.models import PaymentStatusReport as StatusReportRow
from trips.services.handoff import START_CHARGE
from trips.services.payment_status import REPORT_PAYMENT_STATUS

from .amazon import amazon_call, call_record, record_from_result
from .chain import chaining
from .enums import ADJUST_STATES, CallOutcome, ChargeState
from .services.calls import ADJUST, CANCEL, CAPTURE, TRANSACTIONAL_DATA
from .services.charges import charge_apply_adjust, charge_open
from .services.feedback import report_record_outcome
from .services.outcomes import charge_apply_cancel, charge_apply_capture, charge_call_given_up
from .services.receipts import charge_record_transactional_data

PAYMENTS_QUEUE = "payments"
FEEDBACK_QUEUE = "outbox"


def _deadline(message: OutboxMessage) -> datetime | None:
    value = message.payload.get("deadline")
    return datetime.fromisoformat(value) if value else None


def _budget() -> dict:
    """Retries of adjust, capture and cancel are bounded; then the trip is parked."""
    return {"max_attempts": settings.PAYMENTS_MAX_ATTEMPTS}


def _ids(message: OutboxMessage) -> dict:
    return {
        "trip_pk": message.payload.get("trip_pk"),
        "charge_pk": message.payload.get("charge_pk"),
    }


def _stale(message: OutboxMessage, states) -> dict | None:
    """Skip a call the charge has moved past (never send an outdated adjust to Amazon)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state, adjust_seq FROM payments_charge WHERE id = %s",
            [message.payload["charge_pk"]],
        )
        current = cursor.fetchone()
    if current is None or current[0] not in states:
        return {"outcome": "STALE", "state": current[0] if current else None}
    seq = message.payload.get("seq")
    if seq is not None and seq != current[1]:
        return {"outcome": "STALE", "state": current[0]}
    return None


# --- start of the lifecycle (no call: opened in the claim's transaction) -----------------------
def _start_success(message: OutboxMessage, result: dict) -> None:
    with chaining():
        charge_open(trip_pk=message.payload["trip_pk"])


# --- adjust ------------------------------------------------------------------------------------
def _adjust_send(message: OutboxMessage) -> dict:
    p = message.payload
    stale = _stale(message, ADJUST_STATES)
    if stale:
        return stale
    request = AdjustChargeRequest(
        p["storeId"], p["shoppingTripId"], Decimal(p["amount"]), p["currency"]
    )
    answer = amazon_call(
        message=message,
        operation="adjust",
        invoke=lambda c: c.adjust_charge(request),
        **_ids(message),
        **_budget(),
    )
    result = answer.pop("result", None)
    if result is not None:
        answer["status"] = result.status.value
        answer["authorized"] = str(result.authorized_amount)
    return answer


def _adjust_success(message: OutboxMessage, result: dict) -> None:
    record_from_result(message, result, **_ids(message))
    with chaining():
        charge_apply_adjust(payload=message.payload, result=result)


def _adjust_dead(message: OutboxMessage) -> None:
    charge_call_given_up(payload=message.payload, operation="adjust", detail=message.last_error)


# --- capture and cancel ------------------------------------------------------------------------
def _capture_send(message: OutboxMessage) -> dict:
    p = message.payload
    stale = _stale(message, {ChargeState.CAPTURING})
    if stale:
        return stale
    request = CaptureChargeRequest(
        p["storeId"], p["shoppingTripId"], Decimal(p["amount"]), p["currency"]
    )
    answer = amazon_call(
        message=message,
        operation="capture",
        invoke=lambda c: c.capture_charge(request),
        **_ids(message),
        **_budget(),
    )
    answer.pop("result", None)
    return answer


def _capture_success(message: OutboxMessage, result: dict) -> None:
    record_from_result(message, result, **_ids(message))
    with chaining():
        charge_apply_capture(payload=message.payload, result=result)


def _capture_dead(message: OutboxMessage) -> None:
    charge_call_given_up(payload=message.payload, operation="capture", detail=message.last_error)


def _cancel_send(message: OutboxMessage) -> dict:
    p = message.payload
    stale = _stale(message, {ChargeState.CANCELLING})
    if stale:
        return stale
    request = CancelChargeRequest(p["storeId"], p["shoppingTripId"])
    answer = amazon_call(
        message=message,
        operation="cancel",
        invoke=lambda c: c.cancel_charge(request),
        **_ids(message),
        **_budget(),
    )
    answer.pop("result", None)
    return answer


def _cancel_success(message: OutboxMessage, result: dict) -> None:
    record_from_result(message, result, **_ids(message))
    with chaining():
        charge_apply_cancel(payload=message.payload, result=result)


def _cancel_dead(message: OutboxMessage) -> None:
    charge_call_given_up(payload=message.payload, operation="cancel", detail=message.last_error)


# --- transactional data (contract §3.5) --------------------------------------------------------
def _txd_backoff(attempt: int) -> float:
    """'Not yet available' is retried from 30 s, doubling, up to 1 h."""
    return float(min(3600, 30 * 2 ** max(0, attempt - 1)))


def _txd_send(message: OutboxMessage) -> dict:
    p = message.payload
    request = TransactionalDataRequest(p["storeId"], p["shoppingTripId"])
    answer = amazon_call(
        message=message,
        operation="transactional_data",
        invoke=lambda c: c.get_transactional_data(request),
        **_ids(message),
    )
    if answer["outcome"] == CallOutcome.UNKNOWN_TRIP:
        call_record(
            exchange=answer.get("exchange") or {},
            outcome=CallOutcome.UNKNOWN_TRIP,
            outbox_key=message.key,
            attempt=message.attempts,
            **_ids(message),
        )
        raise RetryLater(_txd_backoff(message.attempts), status="400", detail="not yet available")
    result = answer.pop("result", None)
    if result is not None:
        answer["data"] = {
            "brand": result.brand,
            "tail": result.tail,
            "reconciliationId": result.reconciliation_id,
            "posEntryMode": result.pos_entry_mode,
        }
    return answer


def _txd_success(message: OutboxMessage, result: dict) -> None:
    record_from_result(message, result, **_ids(message))
    if result.get("outcome") == CallOutcome.OK and result.get("data"):
        charge_record_transactional_data(
            charge_pk=message.payload["charge_pk"], data=result["data"]
        )


def _txd_until(message: OutboxMessage) -> datetime | None:
    value = message.payload.get("until")
    return datetime.fromisoformat(value) if value else None


# --- Report Payment Status (contract §4) -------------------------------------------------------
def _report_trip(message: OutboxMessage) -> int | None:
    if "trip_pk" in message.payload:
        return message.payload["trip_pk"]
    return (  # a report queued before its payload carried the trip
        StatusReportRow.objects.filter(pk=message.payload["report_id"])
        .values_list("trip_id", flat=True)
        .first()
    )


def _report_send(message: OutboxMessage) -> dict:
    p = message.payload
    age = business_now() - message.created_at
    if message.attempts > 1 and age > timedelta(seconds=settings.PAYMENTS_REPORT_ALERT_SECONDS):
        alert_raise(
            key=f"payment-status-undelivered:{message.pk}",
            kind="payment_status_undelivered",
            severity=AlertSeverity.WARNING,
            message=f"payment status report for trip {p['shoppingTripId']} undelivered for {age}",
        )
    report = PaymentStatusReport(
        p["storeId"],
        p["shoppingTripId"],
        Decimal(p["total"]),
        Decimal(p["settled"]),
        p["currency"],
        int(p["paymentStatusTime"]),
    )
    trip_pk = _report_trip(message)
    answer = amazon_call(
        message=message,
        operation="payment_status",
        invoke=lambda c: c.report_payment_status(report),
        trip_pk=trip_pk,
    )
    result = answer.pop("result", None)
    if result is not None:
        answer["status"] = result.status.value
    answer["trip_pk"] = trip_pk
    return answer


def _report_success(message: OutboxMessage, result: dict) -> None:
    trip_pk = result["trip_pk"] if "trip_pk" in result else _report_trip(message)
    record_from_result(message, result, trip_pk=trip_pk, charge_pk=None)
    if result.get("outcome") == CallOutcome.OK:
        outcome, detail = result["status"], ""
    else:
        outcome, detail = "Failed", f"{result.get('httpStatus')} {result.get('errorMsg')}"
    report_record_outcome(report_id=message.payload["report_id"], outcome=outcome, detail=detail)


def _report_dead(message: OutboxMessage) -> None:
    report_record_outcome(
        report_id=message.payload["report_id"], outcome="Failed", detail=message.last_error
    )


def register_handlers() -> None:
    lease = settings.PAYMENTS_LEASE_SECONDS
    for handler in (
        OutboxHandler(
            kind=START_CHARGE, send=None, on_success=_start_success, queue=PAYMENTS_QUEUE
        ),
        OutboxHandler(
            kind=ADJUST,
            send=_adjust_send,
            on_success=_adjust_success,
            on_dead=_adjust_dead,
            queue=PAYMENTS_QUEUE,
            lease_seconds=lease,
            give_up_at=_deadline,
        ),
        OutboxHandler(
            kind=CAPTURE,
            send=_capture_send,
            on_success=_capture_success,
            on_dead=_capture_dead,
            queue=PAYMENTS_QUEUE,
            lease_seconds=lease,
            give_up_at=_deadline,
        ),
        OutboxHandler(
            kind=CANCEL,
            send=_cancel_send,
            on_success=_cancel_success,
            on_dead=_cancel_dead,
            queue=PAYMENTS_QUEUE,
            lease_seconds=lease,
            give_up_at=_deadline,
        ),
        OutboxHandler(
            kind=TRANSACTIONAL_DATA,
            send=_txd_send,
            on_success=_txd_success,
            queue=FEEDBACK_QUEUE,
            lease_seconds=lease,
            give_up_at=_txd_until,
        ),
        # Never dropped: retried until Amazon answers; a 4xx is recorded and alerted.
        OutboxHandler(
            kind=REPORT_PAYMENT_STATUS,
            send=_report_send,
            on_success=_report_success,
            on_dead=_report_dead,
            queue=FEEDBACK_QUEUE,
            lease_seconds=lease,
        ),
    ):
        outbox_handler_register(handler)
