"""PENDING adjustments: polls with the same amount and backoff, bounded by settle-by."""

from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

from core import clock
from core.models import Alert
from payments.enums import ChargeState
from payments.models import AmazonCall
from trips.enums import DeclineStrategy, TripState


def test_pending_adjust_is_polled_with_backoff_until_approved_then_captured(harness):
    """ADJ-3: PENDING three times → polls after 1, 2 and 4 s with the same amount → APPROVED →
    captured. Time moves on the simulator's clock only."""
    trip = harness.priced_trip("25.50", profile="PENDING_THEN", n=3, then="APPROVE")

    harness.run()
    for wait in (1, 2, 4):
        assert harness.fresh(trip)[1].state == ChargeState.ADJUST_PENDING
        harness.advance_and_run(wait - 0.5)
        assert len(harness.sim_calls(trip, "/v1/adjust/charge")) == 1 + (wait.bit_length() - 1)
        harness.advance_and_run(0.5)

    trip, charge = harness.fresh(trip)
    assert charge.state == ChargeState.CAPTURED
    assert trip.state == TripState.SETTLED
    calls = list(AmazonCall.objects.filter(trip=trip, operation="adjust").order_by("id"))
    assert [call.request["amount"]["amount"] for call in calls] == ["25.50"] * 4
    gaps = [
        (later.business_time - earlier.business_time).total_seconds()
        for earlier, later in pairwise(calls)
    ]
    assert gaps == [1.0, 2.0, 4.0]


def test_pending_then_declined_follows_the_decline_strategy(make_harness):
    """ADJ-3 then ADJ-2: a PENDING adjust that ends DECLINED is written off (store strategy)."""
    harness = make_harness(decline_strategy=DeclineStrategy.WRITE_OFF_ALL)
    trip = harness.priced_trip("12.00", profile="PENDING_THEN", n=1, then="DECLINE")

    harness.run()
    harness.advance_and_run(1)

    trip, charge = harness.fresh(trip)
    assert charge.state == ChargeState.CANCELLED
    assert trip.state == TripState.SHORTFALL


def test_pending_past_settle_by_parks_the_trip_and_alerts(harness):
    """ADJ-3 bounded: polling stops at settle-by; the trip is parked for an operator."""
    trip = harness.priced_trip("9.00", profile="PENDING_THEN", n=100000, then="APPROVE")
    harness.run()
    until_settle_by = (trip.settle_by - clock.now()).total_seconds()

    harness.advance_and_run(until_settle_by - 30)
    harness.advance_and_run(60)

    trip, charge = harness.fresh(trip)
    assert charge.state == ChargeState.ADJUST_PENDING
    assert trip.state == TripState.NEEDS_REVIEW
    assert "PENDING" in trip.needs_review_reason
    assert Alert.objects.filter(key=f"payments-parked:{trip.pk}").exists()
    assert clock.now() >= trip.settle_by - timedelta(seconds=60)
    assert charge.cart_total == Decimal("9.00")
