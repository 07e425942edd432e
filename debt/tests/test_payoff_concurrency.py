"""Two payoffs of the same debt at the same moment collect once (threads on real PostgreSQL)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from debt.enums import DebtState, LedgerEntryKind, PaymentMethod
from debt.models import DebtPayment
from debt.services.recovery import PayoffExceedsBalance, debt_payoff
from debt.tests.helpers import record_shortfall
from trips.models import PaymentStatusReport

pytestmark = pytest.mark.django_db(transaction=True)


def _race(debt, keys):
    barrier = threading.Barrier(len(keys))
    outcomes = [None] * len(keys)

    def pay(index, key):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = debt_payoff(
                identity_id=debt.shopper_identity_id,
                currency="USD",
                amount=debt.outstanding_amount,
                method=PaymentMethod.PORTAL_STRIPE,
                idempotency_key=key,
                actor="portal",
            )
        except PayoffExceedsBalance as refused:
            outcomes[index] = refused
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(i, key)) for i, key in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_different_payments_for_the_same_debt_collect_once():
    debt = record_shortfall(total="30.00", settled="10.00")

    outcomes = _race(debt, ["checkout-a", "checkout-b"])

    payments = [o for o in outcomes if isinstance(o, DebtPayment)]
    refused = [o for o in outcomes if isinstance(o, PayoffExceedsBalance)]
    assert len(payments) == 1 and len(refused) == 1
    debt.refresh_from_db()
    assert debt.state == DebtState.RECOVERED
    assert debt.recovered_amount == Decimal("20.00")
    assert debt.ledger.filter(kind=LedgerEntryKind.RECOVERED).count() == 1
    assert DebtPayment.objects.count() == 1
    assert PaymentStatusReport.objects.filter(trip=debt.trip, reason="DEBT_RECOVERED").count() == 1


def test_the_same_payment_delivered_twice_at_once_is_recorded_once():
    debt = record_shortfall(total="30.00", settled="10.00")

    outcomes = _race(debt, ["checkout-a"] * 4)

    assert all(isinstance(o, DebtPayment) for o in outcomes)
    assert len({o.pk for o in outcomes}) == 1
    debt.refresh_from_db()
    assert debt.ledger.filter(kind=LedgerEntryKind.RECOVERED).count() == 1
    assert debt.recovered_amount == Decimal("20.00")
