"""Record Amazon's answer to a Report Payment Status (contract §4)."""

from __future__ import annotations

from core.alerts import alert_raise
from core.models import AlertSeverity
from trips.models import PaymentStatusReport


def report_record_outcome(*, report_id: int, outcome: str, detail: str = "") -> None:
    """``Accepted`` or ``Rejected`` (a rejected report is never re-sent), or ``Failed`` (a 4xx).

    Runs in the transaction that marks the outbox row done or dead.
    """
    report = PaymentStatusReport.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        return
    if report.outcome in ("Accepted", "Rejected"):
        return
    report.outcome = outcome[:12]
    report.save(update_fields=["outcome"])
    if outcome != "Accepted":
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
