"""Recovery: a payment clears debts, reports the new settled amount to Amazon in the same
transaction, lifts the block, and settles fully paid trips. AE-7.16."""

from decimal import Decimal

import pytest

from core.errors import ValidationFailed
from core.models import OutboxMessage
from debt.enums import DebtState, EscalationLevel, LedgerEntryKind, NoticeKind, PaymentMethod
from debt.models import DebtNotice, DebtPayment
from debt.selectors import shopper_standing
from debt.services.recovery import IdempotencyKeyReused, PayoffExceedsBalance, debt_payoff
from debt.tests.helpers import record_shortfall
from tests.factories import make_shopper, make_store
from trips.enums import TripState
from trips.models import PaymentStatusReport
from trips.services.payment_status import REPORT_PAYMENT_STATUS

pytestmark = pytest.mark.django_db


def _pay(debt_or_identity, amount, key="pay-1", **kwargs):
    identity = getattr(debt_or_identity, "shopper_identity_id", debt_or_identity)
    return debt_payoff(
        identity_id=identity,
        currency="USD",
        amount=Decimal(amount),
        method=kwargs.pop("method", PaymentMethod.STAFF_PHONE),
        idempotency_key=key,
        actor="user:1:clerk",
        **kwargs,
    )


def _reports(trip):
    return list(
        PaymentStatusReport.objects.filter(trip=trip)
        .order_by("sequence")
        .values_list("total_amount", "settled_amount", "reason")
    )


def test_full_payoff_reports_total_over_total_settles_the_trip_and_lifts_the_block():
    """AE-7.16: a debt paid later sends total/total with a newer paymentStatusTime."""
    debt = record_shortfall(total="23.47", settled="15.00")
    assert shopper_standing(identity_id=debt.shopper_identity_id, currency="USD").blocks_entry

    payment = _pay(debt, "8.47")

    debt.refresh_from_db()
    assert debt.state == DebtState.RECOVERED
    assert debt.outstanding_amount == 0
    assert debt.recovered_amount == Decimal("8.47")
    assert payment.applied_amount == Decimal("8.47") and payment.unapplied_amount == 0
    assert list(debt.ledger.values_list("kind", "amount").order_by("pk")) == [
        (LedgerEntryKind.INCURRED, Decimal("8.47")),
        (LedgerEntryKind.RECOVERED, Decimal("-8.47")),
    ]
    reports = PaymentStatusReport.objects.filter(trip=debt.trip).order_by("sequence")
    assert _reports(debt.trip)[-1] == (Decimal("23.47"), Decimal("23.47"), "DEBT_RECOVERED")
    assert reports[1].status_time_ms > reports[0].status_time_ms
    assert OutboxMessage.objects.filter(
        kind=REPORT_PAYMENT_STATUS, key=reports[1].outbox_key
    ).exists()
    debt.trip.refresh_from_db()
    assert debt.trip.state == TripState.SETTLED
    assert debt.trip.settled_amount == Decimal("23.47")
    standing = shopper_standing(identity_id=debt.shopper_identity_id, currency="USD")
    assert standing.blocks_entry is False
    assert standing.outstanding_amount == 0
    assert standing.escalation_level == EscalationLevel.NONE
    assert DebtNotice.objects.filter(kind=NoticeKind.CLEARED, payment=payment).exists()


def test_partial_payoff_reports_the_new_settled_amount_and_keeps_the_block():
    debt = record_shortfall(total="20.00", settled="0")

    _pay(debt, "5.00")

    debt.refresh_from_db()
    assert debt.state == DebtState.OPEN
    assert debt.outstanding_amount == Decimal("15.00")
    assert _reports(debt.trip)[-1] == (Decimal("20.00"), Decimal("5.00"), "DEBT_RECOVERED")
    debt.trip.refresh_from_db()
    assert debt.trip.state == TripState.SHORTFALL
    standing = shopper_standing(identity_id=debt.shopper_identity_id, currency="USD")
    assert standing.blocking_amount == Decimal("15.00")
    assert not DebtNotice.objects.filter(kind=NoticeKind.CLEARED).exists()


def test_payment_goes_to_the_oldest_debts_first_across_stores():
    shopper = make_shopper()
    first = record_shortfall(total="10.00", shopper=shopper, store=make_store())
    second = record_shortfall(total="6.00", shopper=shopper, store=make_store())

    payment = _pay(first, "12.00")

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == DebtState.RECOVERED
    assert second.outstanding_amount == Decimal("4.00")
    assert sorted(payment.allocations.values_list("debt_id", "amount", "cleared_debt")) == sorted(
        [(first.pk, Decimal("10.00"), True), (second.pk, Decimal("2.00"), False)]
    )


def test_payment_applied_to_the_chosen_trip_only():
    shopper = make_shopper()
    older = record_shortfall(total="10.00", shopper=shopper)
    chosen = record_shortfall(total="6.00", shopper=shopper)

    _pay(older, "6.00", debt_ids=[chosen.pk])

    older.refresh_from_db()
    chosen.refresh_from_db()
    assert chosen.state == DebtState.RECOVERED
    assert older.outstanding_amount == Decimal("10.00")


def test_expired_trip_is_settled_when_its_debt_is_paid():
    debt = record_shortfall(total="12.00", root_cause="PREAUTH_EXPIRED")
    assert debt.trip.state == TripState.EXPIRED

    _pay(debt, "12.00")

    debt.trip.refresh_from_db()
    assert debt.trip.state == TripState.SETTLED
    assert _reports(debt.trip)[-1] == (Decimal("12.00"), Decimal("12.00"), "DEBT_RECOVERED")


def test_same_key_twice_records_one_payment():
    debt = record_shortfall(total="9.00")
    first = _pay(debt, "9.00", key="phone-42")
    again = _pay(debt, "9.00", key="phone-42")
    assert again.pk == first.pk
    assert DebtPayment.objects.count() == 1
    assert debt.ledger.filter(kind=LedgerEntryKind.RECOVERED).count() == 1
    assert len(_reports(debt.trip)) == 2


def test_same_key_with_another_amount_is_refused():
    debt = record_shortfall(total="9.00")
    _pay(debt, "4.00", key="phone-43")
    with pytest.raises(IdempotencyKeyReused):
        _pay(debt, "5.00", key="phone-43")


def test_paying_more_than_is_owed_is_refused_and_records_nothing():
    debt = record_shortfall(total="9.00")
    with pytest.raises(PayoffExceedsBalance):
        _pay(debt, "9.01")
    assert DebtPayment.objects.count() == 0
    debt.refresh_from_db()
    assert debt.outstanding_amount == Decimal("9.00")
    assert len(_reports(debt.trip)) == 1


def test_money_already_taken_beyond_the_balance_is_kept_for_a_refund_and_alerted():
    from core.models import Alert

    debt = record_shortfall(total="9.00")
    payment = _pay(debt, "10.00", method=PaymentMethod.PORTAL_STRIPE, accept_excess=True)
    assert payment.applied_amount == Decimal("9.00")
    assert payment.unapplied_amount == Decimal("1.00")
    assert Alert.objects.filter(kind="debt_payment_unapplied").exists()


@pytest.mark.parametrize(
    ("field", "amount", "currency", "method", "key"),
    [
        ("amount", "0", "USD", PaymentMethod.STAFF_PHONE, "k"),
        ("amount", "-1.00", "USD", PaymentMethod.STAFF_PHONE, "k"),
        ("amount", "1.001", "USD", PaymentMethod.STAFF_PHONE, "k"),
        ("currency", "1.00", "XXX", PaymentMethod.STAFF_PHONE, "k"),
        ("method", "1.00", "USD", "CASH", "k"),
        ("idempotency_key", "1.00", "USD", PaymentMethod.STAFF_PHONE, " "),
    ],
)
def test_bad_payoff_input_names_the_field(field, amount, currency, method, key):
    with pytest.raises(ValidationFailed) as caught:
        debt_payoff(
            identity_id="shopper-x",
            currency=currency,
            amount=Decimal(amount),
            method=method,
            idempotency_key=key,
            actor="user:1:clerk",
        )
    assert field in [problem.field for problem in caught.value.problems]


def test_unknown_or_disputed_chosen_debt_is_refused():
    from debt.services.disputes import dispute_open

    debt = record_shortfall(total="9.00")
    with pytest.raises(ValidationFailed) as unknown:
        _pay(debt, "1.00", debt_ids=[debt.pk + 1000])
    dispute_open(debt_id=debt.pk, source="SHOPPER", opened_by="shopper")
    with pytest.raises(ValidationFailed) as disputed:
        _pay(debt, "1.00", debt_ids=[debt.pk])
    assert unknown.value.problems[0].problem == "UNKNOWN"
    assert disputed.value.problems[0].problem == "NOT_ALLOWED"
    assert DebtPayment.objects.count() == 0
