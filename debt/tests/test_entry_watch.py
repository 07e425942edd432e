"""Alert when a shopper with a blocking balance was let in against policy."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core import clock
from core.models import Alert
from debt.enums import PaymentMethod
from debt.models import EntryPolicyBreach
from debt.services.entry_watch import entry_breaches_detect
from debt.services.recovery import debt_payoff
from debt.tests.helpers import record_shortfall
from tests.factories import make_shopper, make_store, make_trip
from trips.enums import BalanceStrategy
from trips.models import GateEvent

pytestmark = pytest.mark.django_db


def _entry(store, shopper, *, at, authorized=True, preauth=None):
    trip = make_trip(store=store, shopper=shopper)
    return GateEvent.objects.create(
        gate_event_id=f"gae-{trip.pk}",
        store=store,
        trip=trip,
        shopper=shopper,
        event_type="CREDIT_CARD",
        interaction_type="TAP",
        occurred_at=at,
        authorized=authorized,
        preauth_amount=preauth if preauth is not None else store.preauth_amount,
        currency=store.currency,
    )


def test_entry_while_owing_is_recorded_once_and_alerted():
    store, shopper = make_store(), make_shopper()
    record_shortfall(total="14.00", shopper=shopper, store=store)
    event = _entry(store, shopper, at=clock.now() + timedelta(minutes=5))

    assert entry_breaches_detect() == {"breaches": 1}
    assert entry_breaches_detect() == {"breaches": 0}

    breach = EntryPolicyBreach.objects.get()
    assert breach.gate_event_ref == event.gate_event_id
    assert breach.blocking_amount == Decimal("14.00") and breach.debts == 1
    assert Alert.objects.filter(kind="debt_entry_breach").count() == 1


@pytest.mark.parametrize(
    "case", ["before_debt", "denied", "raised_preauth", "store_allows", "no_strategy", "paid"]
)
def test_entries_allowed_by_policy_are_not_breaches(case):
    store, shopper = make_store(), make_shopper()
    if case == "store_allows":
        store.deny_entry_with_debt = False
        store.save()
    if case == "no_strategy":
        store.balance_strategy = BalanceStrategy.NONE
        store.save()
    before = clock.now() - timedelta(minutes=1)
    record_shortfall(total="14.00", shopper=shopper, store=store)
    later = clock.now() + timedelta(minutes=5)
    if case == "paid":
        debt_payoff(
            identity_id=shopper.identity_id,
            currency="USD",
            amount=Decimal("14.00"),
            method=PaymentMethod.STAFF_PHONE,
            idempotency_key="paid-first",
            actor="user:1:clerk",
        )
    _entry(
        store,
        shopper,
        at=before if case == "before_debt" else later + timedelta(minutes=1),
        authorized=case != "denied",
        preauth=store.preauth_amount + 20 if case == "raised_preauth" else None,
    )
    assert entry_breaches_detect() == {"breaches": 0}
