"""Queue a Report Payment Status message (contract §4) in the caller's transaction.

Every payment outcome (capture, decline, partial settlement, expiry, later payoff) calls this in
the same transaction as its state change; the outbox delivers it until Amazon answers. The
handler that calls Amazon is registered by the payments app for ``REPORT_PAYMENT_STATUS``.
"""

from decimal import Decimal

from django.db import connection
from django.db.models import Max

from core.clock import now as business_now
from core.outbox import outbox_enqueue

from ..models import PaymentStatusReport, ShoppingTrip

REPORT_PAYMENT_STATUS = "amazon.report_payment_status"


def payment_status_report(
    *, trip: ShoppingTrip, total: Decimal, settled: Decimal, reason: str
) -> PaymentStatusReport:
    """Record and queue a report. The caller holds the trip's row lock inside its transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("payment_status_report must run in the state change's transaction")
    if settled < 0 or settled > total:
        raise ValueError("settled must be between 0 and total")
    previous = PaymentStatusReport.objects.filter(trip=trip).aggregate(
        sequence=Max("sequence"), time=Max("status_time_ms")
    )
    now_ms = int(business_now().timestamp() * 1000)
    status_time_ms = max(now_ms, (previous["time"] or 0) + 1)
    report = PaymentStatusReport.objects.create(
        trip=trip,
        sequence=(previous["sequence"] or 0) + 1,
        total_amount=total,
        settled_amount=settled,
        currency=trip.currency,
        status_time_ms=status_time_ms,
        reason=reason,
    )
    outbox_enqueue(
        kind=REPORT_PAYMENT_STATUS,
        key=report.outbox_key,
        payload={
            "report_id": report.pk,
            "storeId": trip.store.store_id,
            "shoppingTripId": trip.shopping_trip_id,
            "total": str(total),
            "settled": str(settled),
            "currency": trip.currency,
            "paymentStatusTime": status_time_ms,
        },
        store_ref=trip.store.store_id,
        trip_ref=trip.shopping_trip_id,
    )
    return report
