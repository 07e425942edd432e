"""Disputes: pause reminders and (per policy) the block; resolution recorded with its reason."""

from decimal import Decimal

import pytest

from core.errors import Conflict, ValidationFailed
from debt.enums import (
    DebtState,
    DisputeResolutionReason,
    DisputeSource,
    DisputeStatus,
    LedgerEntryKind,
)
from debt.models import DebtPolicy
from debt.selectors import shopper_standing
from debt.services.disputes import dispute_open, dispute_resolve
from debt.tests.helpers import record_shortfall
from trips.enums import TripState
from trips.models import PaymentStatusReport

pytestmark = pytest.mark.django_db


def _open(debt, source=DisputeSource.SHOPPER):
    return dispute_open(
        debt_id=debt.pk, source=source, opened_by="shopper", statement="I put the milk back"
    )


def _standing(debt):
    return shopper_standing(identity_id=debt.shopper_identity_id, currency=debt.currency)


def test_open_dispute_keeps_blocking_by_default_and_records_a_movement():
    debt = record_shortfall(total="12.00")
    dispute = _open(debt)
    debt.refresh_from_db()
    assert debt.state == DebtState.DISPUTED
    assert debt.ledger.filter(kind=LedgerEntryKind.DISPUTE_OPENED, amount=0).exists()
    assert dispute.status == DisputeStatus.OPEN
    standing = _standing(debt)
    assert standing.disputed_amount == Decimal("12.00")
    assert standing.blocking_amount == Decimal("12.00")


def test_policy_can_pause_the_block_while_the_dispute_is_open():
    DebtPolicy.objects.update_or_create(currency="USD", defaults={"dispute_pauses_block": True})
    debt = record_shortfall(total="12.00")
    _open(debt, DisputeSource.STAFF)
    assert _standing(debt).blocking_amount == 0
    assert _standing(debt).outstanding_amount == Decimal("12.00")


def test_rejected_dispute_reopens_the_debt_and_the_block():
    DebtPolicy.objects.update_or_create(currency="USD", defaults={"dispute_pauses_block": True})
    debt = record_shortfall(total="12.00")
    dispute = _open(debt)
    reports = PaymentStatusReport.objects.filter(trip=debt.trip).count()

    dispute = dispute_resolve(
        dispute_id=dispute.pk,
        upheld=False,
        reason=DisputeResolutionReason.CART_CONFIRMED,
        actor="user:2:finance",
    )

    assert dispute.status == DisputeStatus.REJECTED
    assert dispute.resolution_reason == DisputeResolutionReason.CART_CONFIRMED
    debt.refresh_from_db()
    assert debt.state == DebtState.OPEN and debt.outstanding_amount == Decimal("12.00")
    assert _standing(debt).blocking_amount == Decimal("12.00")
    assert PaymentStatusReport.objects.filter(trip=debt.trip).count() == reports


def test_upheld_dispute_reverses_the_debt_and_clears_it_at_amazon_without_claiming_money():
    debt = record_shortfall(total="20.00", settled="8.00")
    dispute = _open(debt)

    dispute_resolve(
        dispute_id=dispute.pk,
        upheld=True,
        reason=DisputeResolutionReason.ITEMS_NOT_TAKEN,
        actor="user:2:finance",
    )

    debt.refresh_from_db()
    assert debt.state == DebtState.REVERSED
    assert debt.reversed_amount == Decimal("12.00") and debt.outstanding_amount == 0
    last = PaymentStatusReport.objects.filter(trip=debt.trip).order_by("-sequence").first()
    assert (last.total_amount, last.settled_amount, last.reason) == (
        Decimal("8.00"),
        Decimal("8.00"),
        "DEBT_REVERSED",
    )
    assert _standing(debt).blocks_entry is False
    debt.trip.refresh_from_db()
    assert debt.trip.state == TripState.SHORTFALL  # the priced trip is left as it was


def test_partly_upheld_dispute_reverses_part_and_the_rest_is_owed():
    debt = record_shortfall(total="20.00", settled="0")
    dispute = _open(debt)
    dispute_resolve(
        dispute_id=dispute.pk,
        upheld=True,
        reason=DisputeResolutionReason.PRICE_ERROR,
        actor="user:2:finance",
        reversed_amount=Decimal("4.50"),
    )
    debt.refresh_from_db()
    assert debt.state == DebtState.OPEN and debt.outstanding_amount == Decimal("15.50")
    last = PaymentStatusReport.objects.filter(trip=debt.trip).order_by("-sequence").first()
    assert (last.total_amount, last.settled_amount) == (Decimal("15.50"), Decimal("0"))


def test_second_open_dispute_and_resolving_twice_are_refused():
    debt = record_shortfall(total="20.00")
    dispute = _open(debt)
    with pytest.raises(Conflict):
        _open(debt)
    dispute_resolve(
        dispute_id=dispute.pk, upheld=False, reason="NO_EVIDENCE", actor="user:2:finance"
    )
    with pytest.raises(Conflict):
        dispute_resolve(
            dispute_id=dispute.pk, upheld=False, reason="NO_EVIDENCE", actor="user:2:finance"
        )


def test_other_reason_needs_a_note_and_reversal_cannot_exceed_the_debt():
    debt = record_shortfall(total="20.00")
    dispute = _open(debt)
    with pytest.raises(ValidationFailed):
        dispute_resolve(dispute_id=dispute.pk, upheld=False, reason="OTHER", actor="a")
    with pytest.raises(ValidationFailed):
        dispute_resolve(
            dispute_id=dispute.pk,
            upheld=True,
            reason="PRICE_ERROR",
            actor="a",
            reversed_amount=Decimal("20.01"),
        )
