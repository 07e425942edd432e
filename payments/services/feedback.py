"""Record Amazon's answer to a Report Payment Status (contract §4)."""

from __future__ import annotations

from django.db import connection

from core.alerts import alert_raise
from core.models import AlertSeverity
from trips.models import PaymentStatusReport


def report_record_outcome(*, report_id: int, outcome: str, detail: str = "") -> None:
    """``Accepted`` or ``Rejected`` (a rejected report is never re-sent), or ``Failed`` (a 4xx).

    Runs in the transaction that marks the outbox row done or dead.
    """
    # One conditional UPDATE: it takes the row lock, and an answer already final stays.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE trips_paymentstatusreport SET outcome = %s "
            "WHERE id = %s AND outcome NOT IN ('Accepted', 'Rejected') RETURNING id",
            [outcome[:12], report_id],
        )
        if cursor.fetchone() is None:
            return
    if outcome != "Accepted":
        report = PaymentStatusReport.objects.get(pk=report_id)
        alert_raise(
            key=f"payment-status-{outcome.lower()}:{report.pk}",
            kind="payment_status_rejected" if outcome == "Rejected" else "payment_status_failed",
            severity=AlertSeverity.CRITICAL,
            message=(
                f"Amazon {outcome.lower()} the payment status report #{report.sequence} of trip "
                f"{report.trip_id} ({report.settled_amount}/{report.total_amount}) {detail}"
            )[:500],
            context={"report": report.pk, "trip": report.trip_id},
        )
