"""Reconciliation: our balances against what Amazon was told (accepted reports) and against the
simulator's balance book; every difference is listed. AE-7.16 (a write-off is not a difference:
Amazon keeps the balance because no report is sent)."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from core import clock
from debt.enums import DifferenceKind, PaymentMethod, WriteOffReason
from debt.ports import balance_book
from debt.services.reconciliation import reconciliation_run
from debt.services.recovery import debt_payoff
from debt.services.write_offs import write_off_approve, write_off_request
from debt.tests.helpers import make_staff, record_shortfall
from debt.tests.sim_flow import deliver_reports, sim_trip
from tests.factories import make_shopper, make_store
from trips.services.payment_status import payment_status_report
from trips.transitions import trip_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(sim):
    store = make_store()
    shopper = make_shopper()
    sim.set_store(store.store_id, faMode="AMAZON_MANAGED")
    return store, shopper


def _run():
    run = reconciliation_run(actor="test", book=balance_book())
    return run, sorted(run.differences.values_list("kind", "ours", "theirs"))


def _shortfall(sim, store, shopper, total="23.47", settled="0"):
    trip = sim_trip(sim, store, shopper, total=total)
    return record_shortfall(trip=trip, total=total, settled=settled)


def test_books_agree_once_reports_are_delivered(sim, world):
    store, shopper = world
    _shortfall(sim, store, shopper, total="23.47", settled="15.00")
    assert deliver_reports() == ["succeeded"]

    run, differences = _run()

    assert differences == []
    assert run.trips_compared == 1 and run.shoppers_compared == 1
    assert sim.balances(shopper.identity_id) == [
        {"code": "USD", "amount": Decimal("8.47"), "trips": 1}
    ]


def test_undelivered_report_is_listed_once_overdue_and_the_book_differs(sim, world):
    store, shopper = world
    _shortfall(sim, store, shopper, total="10.00")

    _, fresh = _run()
    assert fresh == [(DifferenceKind.BOOK_MISMATCH, Decimal("10.00"), Decimal("0.00"))]
    with clock.override(clock.wall_now() + timedelta(hours=1)):
        _, late = _run()
    assert (DifferenceKind.REPORT_IN_FLIGHT, Decimal("10.00"), None) in late


def test_written_off_debt_is_not_a_difference(sim, world):
    """AE-7.16: Amazon still holds the balance; so do our books (as written off)."""
    store, shopper = world
    debt = _shortfall(sim, store, shopper, total="10.00")
    deliver_reports()
    request = write_off_request(
        debt_id=debt.pk,
        amount=None,
        reason_code=WriteOffReason.SMALL_BALANCE,
        requested_by=make_staff("maker", "Finance"),
    )
    write_off_approve(request_id=request.pk, approver=make_staff("checker", "Finance"))

    assert deliver_reports() == []
    assert _run()[1] == []
    assert sim.balances(shopper.identity_id)[0]["amount"] == Decimal("10.00")


def test_payoff_clears_the_book(sim, world):
    store, shopper = world
    _shortfall(sim, store, shopper, total="12.00", settled="2.00")
    deliver_reports()
    debt_payoff(
        identity_id=shopper.identity_id,
        currency="USD",
        amount=Decimal("10.00"),
        method=PaymentMethod.STAFF_PHONE,
        idempotency_key="phone-9",
        actor="user:1:clerk",
    )
    assert deliver_reports() == ["succeeded"]
    assert sim.balances(shopper.identity_id) == []
    assert _run()[1] == []


def test_trip_reported_unpaid_without_a_debt_is_listed(sim, world):
    store, shopper = world
    trip = sim_trip(sim, store, shopper, total="7.00")
    with transaction.atomic():  # a shortfall reported, but no debt recorded (a bug upstream)
        trip = trip_transition(
            trip_pk=trip.pk, to_state="SHORTFALL", actor="test", updates={"settled_amount": 0}
        )
        payment_status_report(
            trip=trip, total=Decimal("7.00"), settled=Decimal("0"), reason="CAPTURE_DECLINED"
        )
    deliver_reports()

    _, differences = _run()

    assert differences == [
        (DifferenceKind.BOOK_MISMATCH, Decimal("0.00"), Decimal("7.00")),
        (DifferenceKind.UNPAID_WITHOUT_DEBT, Decimal("0.00"), Decimal("7.00")),
    ]


def test_report_that_gave_up_is_listed(sim, world):
    store, shopper = world
    # A trip Amazon does not know (UnknownShoppingTrip): its report can never be accepted.
    debt = record_shortfall(total="4.00", shopper=shopper, store=store)
    assert len(deliver_reports()) == 1
    kinds = [kind for kind, _, _ in _run()[1]]
    assert DifferenceKind.REPORT_DEAD in kinds
    assert debt.pk


def test_management_command_prints_every_difference(sim, world):
    store, shopper = world
    _shortfall(sim, store, shopper, total="10.00")
    out = StringIO()
    call_command("debt_reconcile", "--book-url", sim.base_url, stdout=out)
    text = out.getvalue()
    assert "1 difference" in text
    assert "BOOK_MISMATCH" in text and shopper.identity_id in text
