"""Capture outcomes and failures: declined captures, lost answers, refusals, exhausted retries
and the operator's one-click retry."""

import os
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from core.models import Alert, OutboxMessage, OutboxStatus
from core.outbox import outbox_deliver_due
from debt.models import Debt
from payments.amazon import reset_process_state
from payments.enums import ChargeState
from payments.models import AmazonCall
from trips.enums import TripState
from trips.models import PaymentStatusReport

CAPTURE = "/v1/capture/charge"


def reports_of(trip):
    return [
        (r.total_amount, r.settled_amount, r.reason, r.outcome)
        for r in PaymentStatusReport.objects.filter(trip=trip).order_by("sequence")
    ]


def test_capture_declined_event_records_the_debt_and_a_newer_zero_report(harness):
    """AE-6.8, CC-7b.7: capture initiated → report total/captured; CaptureDeclined → debt
    (CAPTURE_DECLINED) and a newer report total/0; Amazon's book ends with the whole cart."""
    trip = harness.priced_trip("42.00", declineCapture=True)

    harness.run()

    trip, charge = harness.fresh(trip)
    assert charge.state == ChargeState.CAPTURE_DECLINED
    assert trip.state == TripState.SHORTFALL
    assert reports_of(trip) == [
        (Decimal("42.00"), Decimal("42.00"), "CAPTURE_INITIATED", "Accepted"),
        (Decimal("42.00"), Decimal("0.00"), "CAPTURE_DECLINED", "Accepted"),
    ]
    times = list(
        PaymentStatusReport.objects.filter(trip=trip)
        .order_by("sequence")
        .values_list("status_time_ms", flat=True)
    )
    assert times[1] > times[0]
    debt = Debt.objects.get(trip=trip)
    assert (debt.root_cause, debt.outstanding_amount) == ("CAPTURE_DECLINED", Decimal("42.00"))
    assert harness.sim_trip(trip)["outstanding"] == Decimal("42.00")


def test_a_lost_capture_answer_is_resolved_by_asking_again_and_captures_once(make_harness):
    """CAP-14 (R-500, phase after): the capture happened but its answer was lost; the identical
    retry answers 200 and Amazon holds one capture. (No events here, so only asking again can
    tell us: with the feed on, CaptureApproved may settle the charge first and the retry is
    then never sent.)"""
    harness = make_harness(events=False)
    trip = harness.priced_trip("18.20")
    harness.sim.faults(script=[{"path": CAPTURE, "status": 500, "phase": "after"}])

    harness.run()
    harness.advance_and_run(1)

    trip, charge = harness.fresh(trip)
    assert charge.state == ChargeState.CAPTURE_INITIATED
    captures = harness.sim_calls(trip, CAPTURE)
    assert [call["status"] for call in captures] == [200, 200]
    assert captures[0]["request"] == captures[1]["request"]
    assert Decimal(harness.sim_trip(trip)["capture"]["amount"]) == Decimal("18.20")
    assert reports_of(trip) == [
        (Decimal("18.20"), Decimal("18.20"), "CAPTURE_INITIATED", "Accepted"),
    ]


def test_a_timed_out_capture_is_unknown_and_asked_again(harness, settings):
    """R-500 (timeout): a capture held past our read timeout may have happened: the retry with
    the identical body settles it, never a blind new operation."""
    settings.PAYMENTS_READ_TIMEOUT_SECONDS = 1
    reset_process_state()
    trip = harness.priced_trip("7.70")
    harness.sim.faults(
        script=[{"path": CAPTURE, "kind": "timeout", "phase": "after", "holdMs": 1500}]
    )

    harness.run()
    harness.advance_and_run(1)

    trip, charge = harness.fresh(trip)
    assert charge.state == ChargeState.CAPTURED
    failed = AmazonCall.objects.get(trip=trip, operation="capture", outcome="RETRYABLE")
    assert failed.error.startswith("timeout")


def test_a_503_on_capture_waits_its_retry_after_on_the_business_clock(harness):
    """CAP-15 (R-503): no retry before Retry-After (30 s) has passed, then the identical body."""
    trip = harness.priced_trip("5.00")
    harness.sim.faults(script=[{"path": CAPTURE, "status": 503}])

    harness.run()
    harness.advance_and_run(29)
    attempts = AmazonCall.objects.filter(trip=trip, operation="capture")
    assert [call.http_status for call in attempts] == [503]
    harness.advance_and_run(1.5)

    assert [call.http_status for call in attempts.order_by("id")] == [503, 200]
    assert harness.fresh(trip)[0].state == TripState.SETTLED


def test_a_capture_refused_for_good_becomes_debt(harness, settings):
    """A capture Amazon refuses (400: the approval was replaced by a decline) cannot succeed:
    CAPTURE_FAILED, the cart is debt, report total/0, alert."""
    settings.PAYMENTS_CHAIN_CALLS = False  # step through the calls one by one
    trip = harness.priced_trip("70.00", profile="DECLINE_OVER_LIMIT", limit=Decimal("80.00"))
    outbox_deliver_due()  # opens the charge
    outbox_deliver_due()  # adjust 70.00 → APPROVED, capture queued
    harness.sim.call(
        "/v1/adjust/charge",
        {
            "storeId": harness.store.store_id,
            "shoppingTripId": trip.shopping_trip_id,
            "amount": {"amount": Decimal("90.00"), "code": "USD"},
        },
    )

    harness.run()

    trip, charge = harness.fresh(trip)
    assert charge.state == ChargeState.CAPTURE_FAILED
    assert trip.state == TripState.SHORTFALL
    assert Debt.objects.get(trip=trip).root_cause == "CAPTURE_FAILED"
    assert reports_of(trip)[-1][:3] == (Decimal("70.00"), Decimal("0.00"), "CAPTURE_FAILED")
    assert Alert.objects.filter(kind="payments_capture_failed").exists()
    assert len(harness.sim_calls(trip, CAPTURE)) == 1


@pytest.fixture
def finance_client(client, transactional_db):
    user = get_user_model().objects.create_superuser("ops", "ops@example.invalid", "pw-ops-1234")
    client.force_login(user)
    return client


def test_exhausted_retries_park_the_trip_and_one_click_retry_settles_it(
    harness, settings, finance_client
):
    """CAP-14 exhausted: after the attempt budget the trip is parked (NEEDS_REVIEW) with an alert;
    the admin's one-click retry calls the same service and the trip settles."""
    settings.PAYMENTS_MAX_ATTEMPTS = 3
    trip = harness.priced_trip("11.11")
    harness.sim.faults(script=[{"path": CAPTURE, "status": 500, "count": 3}])

    harness.run()
    for _ in range(3):
        harness.advance_and_run(60)

    trip, charge = harness.fresh(trip)
    assert trip.state == TripState.NEEDS_REVIEW
    assert charge.state == ChargeState.CAPTURING
    assert OutboxMessage.objects.get(key=f"capture:{charge.pk}").status == OutboxStatus.DEAD
    assert Alert.objects.filter(key=f"payments-parked:{trip.pk}").exists()
    failed = AmazonCall.objects.filter(trip=trip, operation="capture")
    assert [call.http_status for call in failed] == [500, 500, 500]

    response = finance_client.post(
        "/admin/payments/charge/",
        {"action": "retry_parked", "_selected_action": [charge.pk]},
        follow=True,
    )
    assert response.status_code == 200
    harness.run()

    trip, charge = harness.fresh(trip)
    assert trip.state == TripState.SETTLED
    assert charge.probe_count == 1
    assert Decimal(harness.sim_trip(trip)["capture"]["amount"]) == Decimal("11.11")


def test_refused_credentials_are_not_retried_and_alert(harness, monkeypatch):
    """CONN-ADJ (403): AccessDenied is never retried; the trip is parked and a critical alert
    raised."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    reset_process_state()
    trip = harness.priced_trip("3.00")

    harness.run()
    harness.advance_and_run(120)

    assert len(harness.sim_calls(trip, "/v1/adjust/charge")) == 0
    assert AmazonCall.objects.get(trip=trip).outcome == "ACCESS_DENIED"
    assert Alert.objects.filter(kind="amazon_access_denied").exists()
    assert harness.fresh(trip)[0].state == TripState.NEEDS_REVIEW
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "wrong-secret"
