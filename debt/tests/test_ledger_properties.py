"""Property test: whatever sequence of shortfalls, payments, write-offs and disputes happens, the
books stay consistent (a rule-based state machine on the real database).

After every step: each debt's outstanding amount is its ledger's sum and its shortfall is fully
accounted for (outstanding + recovered + written off + reversed); the shopper's standing equals
their debts; what Amazon was last told for each trip equals our outstanding plus what we wrote
off (write-offs are not reported); payments applied equal the amounts recovered.
"""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from debt.enums import DebtRootCause, DebtState, PaymentMethod, WriteOffReason
from debt.models import Debt, DebtPayment
from debt.selectors import payable_amount, shopper_standing
from debt.services.disputes import dispute_open, dispute_resolve
from debt.services.recovery import debt_payoff
from debt.services.write_offs import write_off_approve, write_off_request
from debt.tests.helpers import make_staff, record_shortfall
from tests.factories import make_shopper, make_store
from trips.models import PaymentStatusReport

CENTS = st.integers(min_value=1, max_value=9_999).map(lambda cents: Decimal(cents) / 100)


class DebtBooks(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.shopper = make_shopper()
        self.store = make_store()
        self.keys = 0
        if not User.objects.filter(username="maker").exists():
            make_staff("maker", "Finance")
            make_staff("checker", "Finance lead")
        self.maker = User.objects.get(username="maker")
        self.checker = User.objects.get(username="checker")

    def _debts(self):
        return Debt.objects.filter(shopper_identity_id=self.shopper.identity_id)

    def _pick(self, data_index, states):
        debts = list(self._debts().filter(state__in=states).order_by("pk"))
        return debts[data_index % len(debts)] if debts else None

    @rule(
        total=CENTS,
        paid_share=st.sampled_from([Decimal("0"), Decimal("0.5"), Decimal("0.9")]),
        cause=st.sampled_from(DebtRootCause.values),
    )
    def shortfall(self, total, paid_share, cause):
        settled = (total * paid_share).quantize(Decimal("0.01"))
        if settled < total:
            record_shortfall(
                total=total,
                settled=settled,
                root_cause=cause,
                shopper=self.shopper,
                store=self.store,
            )

    @precondition(lambda self: payable_amount(identity_id=self.shopper.identity_id, currency="USD"))
    @rule(share=st.sampled_from([Decimal("0.3"), Decimal("1")]))
    def pay(self, share):
        owed = payable_amount(identity_id=self.shopper.identity_id, currency="USD")
        amount = max(Decimal("0.01"), (owed * share).quantize(Decimal("0.01")))
        self.keys += 1
        debt_payoff(
            identity_id=self.shopper.identity_id,
            currency="USD",
            amount=amount,
            method=PaymentMethod.PORTAL_STRIPE,
            idempotency_key=f"{self.shopper.identity_id}-{self.keys}",
            actor="portal",
        )

    @rule(index=st.integers(0, 20), part=st.booleans())
    def write_off(self, index, part):
        debt = self._pick(index, [DebtState.OPEN])
        if debt is None or debt.outstanding_amount <= 0:
            return
        amount = (debt.outstanding_amount / 2).quantize(Decimal("0.01")) if part else None
        if amount == 0:
            return
        request = write_off_request(
            debt_id=debt.pk,
            amount=amount,
            reason_code=WriteOffReason.UNCOLLECTABLE,
            requested_by=self.maker,
        )
        write_off_approve(request_id=request.pk, approver=self.checker)

    @rule(index=st.integers(0, 20), upheld=st.booleans(), part=st.booleans())
    def dispute(self, index, upheld, part):
        debt = self._pick(index, [DebtState.OPEN])
        if debt is None or debt.outstanding_amount <= 0:
            return
        dispute = dispute_open(debt_id=debt.pk, source="STAFF", opened_by="staff")
        amount = (debt.outstanding_amount / 2).quantize(Decimal("0.01")) if part else None
        dispute_resolve(
            dispute_id=dispute.pk,
            upheld=upheld,
            reason="PRICE_ERROR" if upheld else "CART_CONFIRMED",
            actor="staff",
            reversed_amount=amount if upheld and amount else None,
        )

    @invariant()
    def books_agree(self):
        debts = list(self._debts())
        for debt in debts:
            ledger = debt.ledger.aggregate(total=Sum("amount"))["total"]
            assert debt.outstanding_amount == ledger
            assert debt.cart_total == (
                debt.settled_amount
                + debt.outstanding_amount
                + debt.recovered_amount
                + debt.written_off_amount
                + debt.reversed_amount
            )
            assert (debt.state == DebtState.OPEN) <= (debt.outstanding_amount > 0)
            last = PaymentStatusReport.objects.filter(trip=debt.trip).order_by("-sequence").first()
            assert last.total_amount - last.settled_amount == (
                debt.outstanding_amount + debt.written_off_amount
            )
        standing = shopper_standing(identity_id=self.shopper.identity_id, currency="USD")
        if standing is not None:
            owed = sum(
                (d.outstanding_amount for d in debts if d.state in ("OPEN", "DISPUTED")),
                Decimal("0"),
            )
            assert standing.outstanding_amount == owed
            assert standing.written_off_amount == sum(
                (d.written_off_amount for d in debts), Decimal("0")
            )
        applied = DebtPayment.objects.filter(identity_id=self.shopper.identity_id).aggregate(
            total=Sum("applied_amount")
        )["total"] or Decimal("0")
        assert applied == sum((d.recovered_amount for d in debts), Decimal("0"))


@pytest.mark.django_db
def test_books_stay_consistent_under_any_sequence_of_debt_events():
    DebtBooks.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    DebtBooks.TestCase().runTest()
