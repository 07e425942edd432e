"""Report Payment Status delivery: accepted, rejected (never resent), retried, failed, old."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from core.models import Alert, OutboxMessage, OutboxStatus
from payments.models import AmazonCall
from payments.selectors import feedback_undelivered
from tests import factories
from trips.enums import TripState
from trips.models import PaymentStatusReport, ShoppingTrip
from trips.services.payment_status import payment_status_report

FEEDBACK = "/v1/feedback/payment-status"


def feedback_calls(trip):
    return AmazonCall.objects.filter(trip=trip, operation="payment_status").order_by("id")


def queue_report(trip, total, settled, reason="TEST"):
    with transaction.atomic():
        locked = ShoppingTrip.objects.select_for_update().get(pk=trip.pk)
        return payment_status_report(trip=locked, total=total, settled=settled, reason=reason)


def test_a_rejected_report_is_recorded_alerted_and_never_resent(harness):
    """FB-TC002: Amazon already holds a newer report → Rejected: recorded, alerted, not resent."""
    trip = harness.priced_trip("10.00")
    harness.run()
    report = queue_report(trip, Decimal("10.00"), Decimal("10.00"))
    newer = report.status_time_ms + 60_000
    harness.sim.call(
        FEEDBACK,
        {
            "storeId": harness.store.store_id,
            "shoppingTripId": trip.shopping_trip_id,
            "totalAmount": {"amount": Decimal("10.00"), "code": "USD"},
            "settledAmount": {"amount": Decimal("10.00"), "code": "USD"},
            "paymentStatusTime": newer,
        },
    )

    harness.run()
    harness.advance_and_run(3600)

    report.refresh_from_db()
    assert report.outcome == "Rejected"
    assert Alert.objects.filter(key=f"payment-status-rejected:{report.pk}").exists()
    assert OutboxMessage.objects.get(key=report.outbox_key).status == OutboxStatus.SUCCEEDED
    assert feedback_calls(trip).count() == 2  # the capture report, and this one once


def test_a_report_lost_to_a_500_is_replayed_and_counted_once(harness):
    """CC-7b.6 (R-500, phase after): the replay (same time, same body) is Accepted; Amazon's
    balance counts it once."""
    harness.sim.faults(script=[{"path": FEEDBACK, "status": 500, "phase": "after"}])
    trip = harness.priced_trip("12.34")

    harness.run()
    harness.advance_and_run(1)

    assert [call.http_status for call in feedback_calls(trip)] == [500, 200]
    assert PaymentStatusReport.objects.get(trip=trip).outcome == "Accepted"
    remote = harness.sim_trip(trip)
    assert [entry["status"] for entry in remote["reports"]] == ["Accepted", "Accepted"]
    assert remote["outstanding"] == 0


def test_a_report_amazon_refuses_is_failed_and_not_retried(harness):
    """CC-7b.4: UnknownShoppingTrip on a report → recorded as Failed, alerted, not retried."""
    trip = factories.make_trip(
        store=harness.store, state=TripState.SETTLED, cart_total=Decimal("1.00")
    )
    report = queue_report(trip, Decimal("1.00"), Decimal("1.00"))

    harness.run()
    harness.advance_and_run(600)

    report.refresh_from_db()
    assert report.outcome == "Failed"
    assert feedback_calls(trip).count() == 1
    assert Alert.objects.filter(kind="payment_status_failed").exists()


@pytest.fixture
def staff_client(client, transactional_db):
    user = get_user_model().objects.create_superuser("fin", "fin@example.invalid", "pw-fin-1234")
    client.force_login(user)
    return client


def test_undelivered_feedback_is_listed_with_its_age_retried_forever_and_alerted_when_old(
    harness, staff_client
):
    """Reports are never dropped: while Amazon answers 503 the report waits (listed in admin
    with its age), an alert is raised once it is old, and it is delivered when Amazon is back."""
    harness.sim.faults({FEEDBACK: {"p503": 1.0}})
    trip = harness.priced_trip("4.50")
    harness.run()
    for _ in range(5):
        harness.advance_and_run(900)

    waiting = list(feedback_undelivered())
    assert [report.trip_id for report in waiting] == [trip.pk]
    page = staff_client.get("/admin/payments/feedbackreport/?delivered=no")
    assert page.status_code == 200
    assert b"1 h 15 min" in page.content
    assert Alert.objects.filter(kind="payment_status_undelivered").exists()

    harness.sim.faults({})
    staff_client.post(
        "/admin/payments/feedbackreport/",
        {"action": "deliver_now", "_selected_action": [waiting[0].pk]},
    )
    harness.run()
    harness.advance_and_run(301)  # the endpoint's circuit breaker lets its probe through

    assert PaymentStatusReport.objects.get(trip=trip).outcome == "Accepted"
    assert not feedback_undelivered().exists()


def test_the_trip_timeline_shows_calls_transitions_events_and_feedback(harness, staff_client):
    """Admin: one page with each Amazon call (request and answer, no PII), each transition,
    each event and each report of the trip."""
    trip = harness.priced_trip("9.99", email="pat@example.com")
    harness.run()
    charge = harness.fresh(trip)[1]

    page = staff_client.get(f"/admin/payments/charge/{charge.pk}/change/")
    listing = staff_client.get("/admin/payments/charge/?trip__state__exact=SETTLED&age=1h")

    assert page.status_code == 200
    text = page.content.decode()
    for expected in ("adjust #1: OK", "capture #1: OK", "CaptureApproved", "report #1", "SETTLED"):
        assert expected in text
    assert "pat@example.com" not in text
    assert "expirationDate&#x27;: &#x27;[redacted]" in text or "[redacted]" in text
    assert listing.status_code == 200
    assert trip.shopping_trip_id in listing.content.decode()
