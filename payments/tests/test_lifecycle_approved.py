"""Happy paths over HTTP against the simulator: approve and capture, release an empty cart,
capture a partial approval."""

from decimal import Decimal

from core.models import AuditEntry
from debt.models import Debt
from payments.enums import CallOutcome, ChargeState, EventStatus
from payments.models import AmazonCall, AmazonEvent
from trips.enums import TripState
from trips.models import PaymentStatusReport


def test_approved_cart_is_captured_for_exactly_the_approved_amount_and_reported(harness):
    """CONN-E2E, CONN-ADJ, ADJ-1, CAP-1, CONN-CAP, CONN-TXD, TXD-1, FB-TC001, CONN-FB, CC-7b.1,
    CC-7c.11, AE-6.7: adjust APPROVED → capture the approved amount → report total/total at once
    → CaptureApproved settles the trip; receipt data fetched."""
    trip = harness.priced_trip("15.99", brand="VISA", tail="1234")

    harness.run()

    trip, charge = harness.fresh(trip)
    assert trip.state == TripState.SETTLED
    assert trip.settled_amount == Decimal("15.99")
    assert charge.state == ChargeState.CAPTURED
    assert charge.capture_amount == Decimal("15.99")
    assert (charge.card_brand, charge.card_tail) == ("VISA", "1234")
    receipt_audit = AuditEntry.objects.get(
        entity="charge", entity_id=str(charge.pk), action="transactional_data"
    )
    assert "1234" not in str(receipt_audit.context)  # the card's fields stay on the charge
    remote = harness.sim_trip(trip)
    assert remote["state"] == "CAPTURED"
    assert Decimal(remote["capture"]["amount"]) == Decimal("15.99")
    assert remote["outstanding"] == 0
    captures = harness.sim_calls(trip, "/v1/capture/charge")
    assert [call["request"]["amount"]["amount"] for call in captures] == [Decimal("15.99")]
    reports = list(PaymentStatusReport.objects.filter(trip=trip).order_by("sequence"))
    assert [(r.total_amount, r.settled_amount, r.outcome) for r in reports] == [
        (Decimal("15.99"), Decimal("15.99"), "Accepted")
    ]
    assert not Debt.objects.filter(trip=trip).exists()
    assert AmazonEvent.objects.filter(trip=trip, event_type="CaptureApproved").get().status == (
        EventStatus.PROCESSED
    )
    operations = list(
        AmazonCall.objects.filter(trip=trip, outcome=CallOutcome.OK).values_list(
            "operation", flat=True
        )
    )
    assert sorted(operations) == ["adjust", "capture", "payment_status", "transactional_data"]


def test_empty_cart_releases_the_preauth_and_reports_zero(harness):
    """CP-1.7, CONN-CAN, CAN-1, CC-7c.12, FB-TC004: an empty cart is cancelled, reported 0/0,
    and the trip is released; AuthorizationCancelled confirms the release."""
    trip = harness.priced_trip("0")

    harness.run()

    trip, charge = harness.fresh(trip)
    assert trip.state == TripState.RELEASED
    assert charge.state == ChargeState.CANCELLED
    assert charge.release_confirmed_at is not None
    assert harness.sim_trip(trip)["state"] == "CANCELLED"
    assert harness.sim_calls(trip, "/v1/adjust/charge") == []
    report = PaymentStatusReport.objects.get(trip=trip)
    assert (report.total_amount, report.settled_amount, report.outcome) == (0, 0, "Accepted")


def test_partial_approval_is_captured_and_the_rest_becomes_debt(make_harness):
    """FB-TC003, CC-7b.2: APPROVED for less than the total → capture what was approved, report
    total/captured, record the shortfall as bad debt (PARTIAL_CAPTURE)."""
    harness = make_harness(preauth_amount=Decimal("10.00"))
    trip = harness.priced_trip("23.47", profile="PARTIAL", available=Decimal("15.00"))

    harness.run()

    trip, charge = harness.fresh(trip)
    assert charge.capture_amount == Decimal("15.00")
    assert trip.state == TripState.SHORTFALL
    assert trip.settled_amount == Decimal("15.00")
    debt = Debt.objects.get(trip=trip)
    assert (debt.root_cause, debt.outstanding_amount) == ("PARTIAL_CAPTURE", Decimal("8.47"))
    assert harness.sim_trip(trip)["outstanding"] == Decimal("8.47")
    balances = harness.sim.balances(trip.shopper.identity_id)
    assert balances == [{"code": "USD", "amount": Decimal("8.47"), "trips": 1}]


def test_receipt_data_not_yet_available_is_retried_from_30_seconds(harness):
    """TXD-2 (retailer side): UnknownShoppingTrip from Get Transactional Data means "not yet
    available": retried after 30 s, then 60 s …, and recorded once available (TXD-1)."""
    from django.db import transaction

    from payments.locks import trip_and_charge_for_update
    from payments.services.calls import enqueue_transactional_data

    trip = harness.priced_trip("5.55", profile="PENDING_THEN", n=100, then="APPROVE")
    harness.run()
    with transaction.atomic():
        locked_trip, charge = trip_and_charge_for_update(trip_pk=trip.pk)
        enqueue_transactional_data(trip=locked_trip, charge=charge)  # before any approval
    harness.run()
    calls = AmazonCall.objects.filter(trip=trip, operation="transactional_data")
    assert [call.outcome for call in calls] == ["UNKNOWN_TRIP"]

    harness.advance_and_run(29)
    assert calls.count() == 1
    harness.sim.set_shopper(trip.shopper.identity_id, profile="APPROVE_ALL", brand="AMEX")
    harness.advance_and_run(2)  # the retry at 30 s; the poll at 31 s is approved and captured

    outcomes = list(calls.order_by("id"))
    assert [call.outcome for call in outcomes] == ["UNKNOWN_TRIP", "UNKNOWN_TRIP", "OK"]
    waited = (outcomes[1].business_time - outcomes[0].business_time).total_seconds()
    assert waited >= 30
    assert harness.fresh(trip)[1].card_brand == "AMEX"
