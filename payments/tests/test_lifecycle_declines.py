"""Declined adjustments: the store's decline strategy, over HTTP against the simulator."""

from decimal import Decimal

import pytest

from debt.models import Debt
from payments.enums import ChargeState
from trips.enums import DeclineStrategy, TripState
from trips.models import PaymentStatusReport


def adjust_amounts(harness, trip) -> list[Decimal]:
    return [
        call["request"]["amount"]["amount"] for call in harness.sim_calls(trip, "/v1/adjust/charge")
    ]


def test_decline_with_write_off_cancels_records_the_debt_and_reports_total_zero(make_harness):
    """ADJ-2, AE-7.13, CAN-1, CC-7b.3, CC-7b.7: DECLINED and the store writes the cart off →
    cancel, debt for the whole cart, report total/0; Amazon then recommends against the shopper."""
    harness = make_harness(decline_strategy=DeclineStrategy.WRITE_OFF_ALL)
    shopper = harness.shopper("DECLINE_OVER_LIMIT", limit=Decimal("60.00"))
    trip = harness.priced_trip("99.99", shopper=shopper)

    harness.run()

    trip, charge = harness.fresh(trip)
    assert trip.state == TripState.SHORTFALL
    assert trip.settled_amount == 0
    assert charge.state == ChargeState.CANCELLED
    assert adjust_amounts(harness, trip) == [Decimal("99.99")]
    debt = Debt.objects.get(trip=trip)
    assert (debt.root_cause, debt.outstanding_amount) == ("DECLINED_ADJUSTMENT", Decimal("99.99"))
    report = PaymentStatusReport.objects.get(trip=trip)
    assert (report.total_amount, report.settled_amount, report.outcome) == (
        Decimal("99.99"),
        0,
        "Accepted",
    )
    assert harness.sim_trip(trip)["state"] == "CANCELLED"
    next_visit = harness.sim.gate(harness.store.store_id, shopper.identity_id)
    assert next_visit["recommendation"]["shopperAuthorized"] is False
    assert "BadDebt" in next_visit["recommendation"]["shopperRisks"]


def test_decline_search_bisects_to_the_largest_approvable_amount_and_captures_it(make_harness):
    """ADJ-2, AE-7.13 (search): 100.00 declined with a 60.00 limit → bisection 50 ✓, 75 ✗,
    62.50 ✗, 56.25 ✓ (4 attempts) → capture 56.25; the 43.75 shortfall is debt; report
    total/captured."""
    harness = make_harness(decline_search_attempts=4)
    trip = harness.priced_trip("100.00", profile="DECLINE_OVER_LIMIT", limit=Decimal("60.00"))

    harness.run()

    trip, charge = harness.fresh(trip)
    assert adjust_amounts(harness, trip) == [
        Decimal("100.00"),
        Decimal("50.00"),
        Decimal("75.00"),
        Decimal("62.50"),
        Decimal("56.25"),
    ]
    assert charge.capture_amount == Decimal("56.25")
    assert Decimal(harness.sim_trip(trip)["capture"]["amount"]) == Decimal("56.25")
    assert trip.state == TripState.SHORTFALL
    debt = Debt.objects.get(trip=trip)
    assert (debt.root_cause, debt.outstanding_amount) == ("DECLINED_ADJUSTMENT", Decimal("43.75"))
    assert harness.sim_trip(trip)["outstanding"] == Decimal("43.75")


def test_search_re_adjusts_to_the_best_approval_when_the_last_try_declined(make_harness):
    """A later DECLINED adjust blocks capture (§3.3): the search re-adjusts to the best approved
    amount before capturing it."""
    harness = make_harness(decline_search_attempts=4)
    trip = harness.priced_trip("100.00", profile="DECLINE_OVER_LIMIT", limit=Decimal("55.00"))

    harness.run()

    trip, charge = harness.fresh(trip)
    assert adjust_amounts(harness, trip)[-2:] == [Decimal("56.25"), Decimal("50.00")]
    assert charge.capture_amount == Decimal("50.00")
    assert harness.sim_trip(trip)["state"] == "CAPTURED"


def test_decline_search_in_steps_takes_the_first_approved_fraction(make_harness, settings):
    settings.PAYMENTS_DECLINE_SEARCH_MODE = "STEPS"
    settings.PAYMENTS_DECLINE_SEARCH_STEPS = ["0.75", "0.5", "0.25"]
    harness = make_harness(decline_search_attempts=3)
    trip = harness.priced_trip("80.00", profile="DECLINE_OVER_LIMIT", limit=Decimal("50.00"))

    harness.run()

    trip, charge = harness.fresh(trip)
    assert adjust_amounts(harness, trip) == [Decimal("80.00"), Decimal("60.00"), Decimal("40.00")]
    assert charge.capture_amount == Decimal("40.00")


def test_search_without_any_approval_ends_in_a_write_off(make_harness):
    """Every lower amount declined → cancel, whole cart to debt, report total/0."""
    harness = make_harness(decline_search_attempts=2)
    trip = harness.priced_trip("30.00", profile="PENDING_THEN", n=0, then="DECLINE")

    harness.run()

    trip, charge = harness.fresh(trip)
    assert len(adjust_amounts(harness, trip)) == 3
    assert charge.state == ChargeState.CANCELLED
    assert trip.state == TripState.SHORTFALL
    assert Debt.objects.get(trip=trip).outstanding_amount == Decimal("30.00")
    assert harness.sim_trip(trip)["outstanding"] == Decimal("30.00")


@pytest.mark.parametrize("attempts", [0])
def test_zero_search_attempts_writes_the_cart_off(make_harness, attempts):
    harness = make_harness(decline_search_attempts=attempts)
    trip = harness.priced_trip("70.00", profile="DECLINE_OVER_LIMIT", limit=Decimal("60.00"))

    harness.run()

    assert adjust_amounts(harness, trip) == [Decimal("70.00")]
    assert harness.fresh(trip)[0].state == TripState.SHORTFALL
