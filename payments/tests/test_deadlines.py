"""The pre-auth window: the deadline watcher, expiry into debt, the janitor's re-drives."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from core import clock
from core.models import OutboxMessage, OutboxStatus
from core.outbox import outbox_deliver_due
from debt.models import Debt
from payments.enums import ChargeState
from payments.models import AmazonCall
from payments.tasks import janitor_task
from trips.enums import TripState
from trips.models import PaymentStatusReport
from trips.transitions import trip_transition


def seconds_until(moment) -> float:
    return (moment - clock.now()).total_seconds()


def test_an_uncharged_cart_expires_into_debt_when_amazon_says_so(harness):
    """AE-7.14: a trip never settled (PENDING past settle-by, parked) reaches the 46 h deadline:
    AuthorizationCancelled (PREAUTH_EXPIRED) → EXPIRED, debt, report total/0 still Accepted."""
    trip = harness.priced_trip("14.00", profile="PENDING_THEN", n=100000, then="APPROVE")
    harness.run()
    harness.advance_and_run(seconds_until(trip.settle_by) + 1)
    assert harness.fresh(trip)[0].state == TripState.NEEDS_REVIEW

    harness.advance_and_run(seconds_until(trip.preauth_deadline) + 1)

    trip, charge = harness.fresh(trip)
    assert harness.sim_trip(trip)["state"] == "EXPIRED"
    assert charge.state == ChargeState.EXPIRED
    assert (trip.state, trip.settled_amount) == (TripState.EXPIRED, 0)
    assert Debt.objects.get(trip=trip).root_cause == "PREAUTH_EXPIRED"
    report = PaymentStatusReport.objects.get(trip=trip)
    assert (report.total_amount, report.settled_amount, report.outcome) == (
        Decimal("14.00"),
        0,
        "Accepted",
    )
    assert harness.sim_trip(trip)["outstanding"] == Decimal("14.00")


def test_the_deadline_watcher_asks_amazon_and_turns_expiry_into_debt(make_harness):
    """AE-7.14 without events: past the deadline the watcher re-sends the idempotent adjust;
    ShoppingTripExpiredException → EXPIRED with its debt and a total/0 report."""
    harness = make_harness(events=False)
    trip = harness.priced_trip("8.00", profile="PENDING_THEN", n=100000, then="APPROVE")
    harness.run()
    harness.advance_and_run(seconds_until(trip.settle_by) + 1)
    harness.advance(seconds_until(trip.preauth_deadline) + 1)

    janitor_task()
    harness.run()

    trip, charge = harness.fresh(trip)
    assert charge.state == ChargeState.EXPIRED
    assert charge.probe_count == 1
    assert trip.state == TripState.EXPIRED
    assert AmazonCall.objects.filter(trip=trip, outcome="EXPIRED").count() == 1
    assert Debt.objects.get(trip=trip).outstanding_amount == Decimal("8.00")
    assert PaymentStatusReport.objects.get(trip=trip).outcome == "Accepted"


def test_settle_by_stops_the_search_and_captures_the_best_approval(make_harness, settings):
    """Settle before the window closes: at settle-by the decline search stops and the best
    approved amount is re-confirmed and captured."""
    settings.PAYMENTS_CHAIN_CALLS = False  # step through the calls one by one
    harness = make_harness(decline_search_attempts=6)
    trip = harness.priced_trip("100.00", profile="DECLINE_OVER_LIMIT", limit=Decimal("60.00"))
    outbox_deliver_due()  # open
    outbox_deliver_due()  # 100.00 declined → 50.00 queued
    outbox_deliver_due()  # 50.00 approved → 75.00 queued
    harness.sim.faults(script=[{"path": "/v1/adjust/charge", "status": 503}])
    outbox_deliver_due()  # 75.00 → 503, retried in 30 s
    harness.advance(seconds_until(trip.settle_by) + 1)

    janitor_task()  # an adjust is in flight: the watcher waits for its answer
    harness.run()

    trip, charge = harness.fresh(trip)
    amounts = list(
        AmazonCall.objects.filter(trip=trip, operation="adjust")
        .order_by("id")
        .values_list("request__amount__amount", flat=True)
    )
    assert amounts == ["100.00", "50.00", "75.00", "75.00", "50.00"]
    assert charge.capture_amount == Decimal("50.00")
    assert trip.state == TripState.SHORTFALL


def test_no_capture_outcome_within_24_hours_is_flagged(make_harness):
    """§9: capture initiated but no Capture* event after 24 h → flagged for reconciliation."""
    harness = make_harness(events=False)
    trip = harness.priced_trip("6.00")
    harness.run()
    assert harness.fresh(trip)[1].state == ChargeState.CAPTURE_INITIATED

    harness.advance(23 * 3600)
    janitor_task()
    assert harness.fresh(trip)[0].state == TripState.SETTLING
    harness.advance(3601)
    janitor_task()

    trip, charge = harness.fresh(trip)
    assert trip.state == TripState.NEEDS_REVIEW
    assert charge.flag_reason == "no capture outcome within 24 h"


def test_the_janitor_opens_a_priced_trip_that_was_never_handed_over(harness):
    """A PRICED trip with no charge (a hand-off that never happened) is opened and settled."""
    trip = harness.gate(harness.shopper())
    with transaction.atomic():
        trip_transition(
            trip_pk=trip.pk,
            to_state=TripState.PRICED,
            actor="test:ordering",
            updates={"cart_total": Decimal("3.30")},
        )
    harness.advance(16 * 60)

    janitor_task()
    harness.run()

    assert harness.fresh(trip)[0].state == TripState.SETTLED


def test_the_janitor_re_drives_a_charge_whose_call_was_lost(harness, settings):
    """A working charge with no call in flight (its outbox row lost) is re-driven with the
    idempotent call of its state, after asking nothing blindly."""
    settings.PAYMENTS_CHAIN_CALLS = False  # step through the calls one by one
    trip = harness.priced_trip("2.20")
    outbox_deliver_due()  # open: the adjust is queued
    OutboxMessage.objects.filter(kind="payments.adjust").update(status=OutboxStatus.DEAD)
    harness.advance(16 * 60)

    janitor_task()
    harness.run()

    trip, charge = harness.fresh(trip)
    assert trip.state == TripState.SETTLED
    assert charge.probe_count == 1
    assert clock.now() - charge.opened_at >= timedelta(minutes=16)
