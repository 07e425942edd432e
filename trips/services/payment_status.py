"""Queue a Report Payment Status message (contract §4) in the caller's transaction.

Every payment outcome (capture, decline, partial settlement, expiry, later payoff) calls this in
the same transaction as its state change; the outbox delivers it until Amazon answers. The
handler that calls Amazon is registered by the payments app for ``REPORT_PAYMENT_STATUS``.
"""

from decimal import Decimal

from django.db import connection
from django.utils import timezone

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
    # Numbered after the trip's last report, and stamped after it, in one statement (the caller
    # holds the trip's lock, so no other report of this trip is being written).
    now_ms = int(business_now().timestamp() * 1000)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO trips_paymentstatusreport (trip_id, sequence, total_amount, "
            "settled_amount, currency, status_time_ms, reason, outcome, created_at) "
            "SELECT %s, COALESCE(MAX(sequence), 0) + 1, %s, %s, %s, "
            "GREATEST(%s, COALESCE(MAX(status_time_ms), 0) + 1), %s, '', %s "
            "FROM trips_paymentstatusreport WHERE trip_id = %s "
            "RETURNING id, sequence, status_time_ms, created_at",
            [trip.pk, total, settled, trip.currency, now_ms, reason, timezone.now(), trip.pk],
        )
        report_id, sequence, status_time_ms, created_at = cursor.fetchone()
    report = PaymentStatusReport.from_db(
        connection.alias,
        ["id", "trip_id", "sequence", "total_amount", "settled_amount", "currency",
         "status_time_ms", "reason", "outcome", "created_at"],
        [report_id, trip.pk, sequence, total, settled, trip.currency, status_time_ms, reason,
         "", created_at],
    )  # fmt: skip
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
