"""Queue a Report Payment Status message (contract §4) in the caller's transaction.

Every payment outcome (capture, decline, partial settlement, expiry, later payoff) calls this in
the same transaction as its state change; the outbox delivers it until Amazon answers. The
handler that calls Amazon is registered by the payments app for ``REPORT_PAYMENT_STATUS``.
"""

from decimal import Decimal

from django.db import connection

from core.clock import now as business_now
from core.outbox import outbox_enqueue
from core.sql import row_insert

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
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MAX(sequence), MAX(status_time_ms) FROM trips_paymentstatusreport "
            "WHERE trip_id = %s",
            [trip.pk],
        )
        last_sequence, last_time = cursor.fetchone()
    now_ms = int(business_now().timestamp() * 1000)
    status_time_ms = max(now_ms, (last_time or 0) + 1)
    report = PaymentStatusReport(
        trip=trip,
        sequence=(last_sequence or 0) + 1,
        total_amount=total,
        settled_amount=settled,
        currency=trip.currency,
        status_time_ms=status_time_ms,
        reason=reason,
    )
    row_insert(report)
    outbox_enqueue(
        kind=REPORT_PAYMENT_STATUS,
        key=report.outbox_key,
        payload={
            "report_id": report.pk,
            "trip_pk": trip.pk,
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
