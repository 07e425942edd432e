from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, transaction

from debt.enums import DebtRootCause, DebtState, EscalationLevel, LedgerEntryKind
from debt.models import DebtLedgerEntry
from debt.selectors import shopper_standing
from debt.services.debts import debt_incur
from tests.factories import make_shopper, make_store, make_trip
from trips.enums import TripState

pytestmark = pytest.mark.django_db


def _trip(total="23.47", shopper=None, store=None):
    return make_trip(
        store=store,
        shopper=shopper or make_shopper(),
        state=TripState.SETTLING,
        cart_total=Decimal(total),
    )


def test_shortfall_creates_one_debt_with_ledger_and_standing():
    trip = _trip()
    with transaction.atomic():
        debt = debt_incur(
            trip=trip,
            cart_total=Decimal("23.47"),
            settled_amount=Decimal("15.00"),
            root_cause=DebtRootCause.PARTIAL_CAPTURE,
            actor="system:test",
            card_brand="VISA",
            card_tail="1234",
        )
    assert debt.outstanding_amount == Decimal("8.47")
    assert debt.state == DebtState.OPEN
    entries = list(debt.ledger.values_list("kind", "amount"))
    assert entries == [(LedgerEntryKind.INCURRED, Decimal("8.47"))]
    standing = shopper_standing(identity_id=trip.shopper.identity_id, currency="USD")
    assert standing.outstanding_amount == Decimal("8.47")
    assert standing.unpaid_trips == 1
    assert standing.blocks_entry is True
    assert standing.escalation_level == EscalationLevel.NOTICE


def test_incurring_twice_for_the_same_trip_changes_nothing():
    trip = _trip()
    for _ in range(2):
        with transaction.atomic():
            debt = debt_incur(
                trip=trip,
                cart_total=Decimal("23.47"),
                settled_amount=Decimal("0"),
                root_cause=DebtRootCause.DECLINED_ADJUSTMENT,
                actor="system:test",
            )
    assert debt.outstanding_amount == Decimal("23.47")
    assert debt.ledger.count() == 1


def test_capture_declined_after_partial_capture_raises_the_same_debt():
    trip = _trip("20.00")
    with transaction.atomic():
        debt_incur(
            trip=trip,
            cart_total=Decimal("20.00"),
            settled_amount=Decimal("15.00"),
            root_cause=DebtRootCause.PARTIAL_CAPTURE,
            actor="system:test",
        )
    with transaction.atomic():
        debt = debt_incur(
            trip=trip,
            cart_total=Decimal("20.00"),
            settled_amount=Decimal("0"),
            root_cause=DebtRootCause.CAPTURE_DECLINED,
            actor="system:test",
        )
    assert debt.outstanding_amount == Decimal("20.00")
    assert sorted(debt.ledger.values_list("amount", flat=True)) == [
        Decimal("5.00"),
        Decimal("15.00"),
    ]
    assert debt.root_cause == DebtRootCause.CAPTURE_DECLINED
    standing = shopper_standing(identity_id=trip.shopper.identity_id, currency="USD")
    assert standing.outstanding_amount == Decimal("20.00")
    assert standing.unpaid_trips == 1


def test_balance_spans_trips_and_stores_of_one_shopper():
    shopper = make_shopper()
    for total, store in (("10.00", make_store()), ("5.50", make_store())):
        trip = _trip(total, shopper=shopper, store=store)
        with transaction.atomic():
            debt_incur(
                trip=trip,
                cart_total=Decimal(total),
                settled_amount=Decimal("0"),
                root_cause=DebtRootCause.PREAUTH_EXPIRED,
                actor="system:test",
            )
    standing = shopper_standing(identity_id=shopper.identity_id, currency="USD")
    assert standing.outstanding_amount == Decimal("15.50")
    assert standing.unpaid_trips == 2


def test_paid_in_full_creates_no_debt():
    trip = _trip()
    with transaction.atomic():
        assert (
            debt_incur(
                trip=trip,
                cart_total=Decimal("23.47"),
                settled_amount=Decimal("23.47"),
                root_cause=DebtRootCause.PARTIAL_CAPTURE,
                actor="system:test",
            )
            is None
        )


@pytest.mark.django_db(transaction=True)
def test_debt_incur_refuses_to_run_outside_a_transaction():
    trip = _trip()
    with pytest.raises(RuntimeError):
        debt_incur(
            trip=trip,
            cart_total=Decimal("1.00"),
            settled_amount=Decimal("0"),
            root_cause=DebtRootCause.SYSTEM_ERROR,
            actor="system:test",
        )


def test_ledger_rows_cannot_be_updated_or_deleted():
    trip = _trip()
    with transaction.atomic():
        debt = debt_incur(
            trip=trip,
            cart_total=Decimal("2.00"),
            settled_amount=Decimal("0"),
            root_cause=DebtRootCause.SYSTEM_ERROR,
            actor="system:test",
        )
    entry = debt.ledger.get()
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        DebtLedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        DebtLedgerEntry.objects.filter(pk=entry.pk).delete()


def test_ledger_sign_must_match_kind():
    trip = _trip()
    with transaction.atomic():
        debt = debt_incur(
            trip=trip,
            cart_total=Decimal("2.00"),
            settled_amount=Decimal("0"),
            root_cause=DebtRootCause.SYSTEM_ERROR,
            actor="system:test",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        DebtLedgerEntry.objects.create(
            debt=debt,
            kind=LedgerEntryKind.RECOVERED,
            amount=Decimal("1.00"),
            currency="USD",
            actor="x",
            business_time=debt.incurred_at,
        )


def test_the_gate_reads_a_shoppers_standing_in_one_query(django_assert_num_queries):
    trip = _trip("12.00")
    with transaction.atomic():
        debt_incur(
            trip=trip,
            cart_total=Decimal("12.00"),
            settled_amount=Decimal("0"),
            root_cause=DebtRootCause.DECLINED_ADJUSTMENT,
            actor="system:test",
        )
    with django_assert_num_queries(1):
        standing = shopper_standing(identity_id=trip.shopper.identity_id, currency="USD")
    assert standing.blocks_entry and standing.blocking_amount == Decimal("12.00")
