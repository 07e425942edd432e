"""Write-off with maker-checker approval. AE-7.16: a write-off sends no report to Amazon, so the
shopper stays blocked there; a later payment reports total/total."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from core.models import Alert
from debt.enums import DebtState, LedgerEntryKind, PaymentMethod, WriteOffReason, WriteOffStatus
from debt.models import DebtPolicy, WriteOffRequest
from debt.selectors import shopper_standing
from debt.services.policy import debt_policy_for
from debt.services.recovery import debt_payoff
from debt.services.write_offs import (
    MakerCheckerViolation,
    NotAllowed,
    write_off_approve,
    write_off_reject,
    write_off_request,
)
from debt.tests.helpers import make_staff, record_shortfall
from trips.models import PaymentStatusReport

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "clerk": make_staff("clerk", "Finance"),
        "checker": make_staff("checker", "Finance"),
        "lead": make_staff("lead", "Finance lead"),
        "staff": make_staff("staff", "Store staff"),
    }


def _request(debt, user, amount=None, reason=WriteOffReason.UNCOLLECTABLE):
    return write_off_request(
        debt_id=debt.pk, amount=amount, reason_code=reason, requested_by=user, note="3 reminders"
    )


def test_approved_write_off_books_the_loss_and_sends_nothing_to_amazon(people):
    """AE-7.16"""
    debt = record_shortfall(total="40.00", settled="0")
    reports_before = PaymentStatusReport.objects.filter(trip=debt.trip).count()

    request = _request(debt, people["clerk"])
    write_off_approve(request_id=request.pk, approver=people["checker"], note="agreed")

    debt.refresh_from_db()
    assert debt.state == DebtState.WRITTEN_OFF
    assert debt.outstanding_amount == 0 and debt.written_off_amount == Decimal("40.00")
    assert debt.ledger.filter(kind=LedgerEntryKind.WRITTEN_OFF, amount=Decimal("-40.00")).exists()
    assert PaymentStatusReport.objects.filter(trip=debt.trip).count() == reports_before
    request.refresh_from_db()
    assert request.status == WriteOffStatus.APPROVED
    assert request.decided_by == people["checker"]
    standing = shopper_standing(identity_id=debt.shopper_identity_id, currency="USD")
    assert standing.written_off_amount == Decimal("40.00")
    assert standing.outstanding_amount == 0
    # Policy default: written-off debt still blocks entry (Amazon blocks too).
    assert standing.blocking_amount == Decimal("40.00") and standing.blocks_entry


def test_written_off_debt_stops_blocking_when_the_policy_says_so(people):
    DebtPolicy.objects.update_or_create(
        currency="USD", defaults={"written_off_blocks_entry": False}
    )
    debt = record_shortfall(total="20.00")
    write_off_approve(request_id=_request(debt, people["clerk"]).pk, approver=people["checker"])
    standing = shopper_standing(identity_id=debt.shopper_identity_id, currency="USD")
    assert standing.blocking_amount == 0
    assert standing.written_off_amount == Decimal("20.00")


def test_the_requester_can_never_approve_their_own_write_off(people):
    debt = record_shortfall(total="20.00")
    request = _request(debt, people["lead"])
    with pytest.raises(MakerCheckerViolation):
        write_off_approve(request_id=request.pk, approver=people["lead"])
    with pytest.raises(MakerCheckerViolation):
        write_off_reject(request_id=request.pk, decided_by=people["lead"])
    request.refresh_from_db()
    assert request.status == WriteOffStatus.PENDING


def test_the_database_refuses_a_request_decided_by_its_maker(people):
    debt = record_shortfall(total="20.00")
    request = _request(debt, people["clerk"])
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOffRequest.objects.filter(pk=request.pk).update(decided_by=people["clerk"])


def test_finance_approves_up_to_the_limit_and_a_finance_lead_above_it(people):
    limit = debt_policy_for(currency="USD").write_off_finance_limit
    small = record_shortfall(total=str(limit))
    large = record_shortfall(total=str(limit + Decimal("0.01")))

    write_off_approve(request_id=_request(small, people["clerk"]).pk, approver=people["checker"])
    large_request = _request(large, people["clerk"])
    with pytest.raises(NotAllowed):
        write_off_approve(request_id=large_request.pk, approver=people["checker"])
    write_off_approve(request_id=large_request.pk, approver=people["lead"])

    large.refresh_from_db()
    assert large.state == DebtState.WRITTEN_OFF


def test_staff_without_the_permission_can_neither_request_nor_approve(people):
    debt = record_shortfall(total="20.00")
    with pytest.raises(NotAllowed):
        _request(debt, people["staff"])
    request = _request(debt, people["clerk"])
    with pytest.raises(NotAllowed):
        write_off_approve(request_id=request.pk, approver=people["staff"])


def test_partial_write_off_leaves_the_rest_owed(people):
    debt = record_shortfall(total="30.00")
    write_off_approve(
        request_id=_request(debt, people["clerk"], amount=Decimal("10.00")).pk,
        approver=people["checker"],
    )
    debt.refresh_from_db()
    assert debt.state == DebtState.OPEN
    assert debt.outstanding_amount == Decimal("20.00")
    assert debt.written_off_amount == Decimal("10.00")


def test_one_pending_request_per_debt(people):
    from core.errors import Conflict

    debt = record_shortfall(total="30.00")
    _request(debt, people["clerk"])
    with pytest.raises(Conflict):
        _request(debt, people["checker"])


def test_rejected_write_off_changes_nothing(people):
    debt = record_shortfall(total="30.00")
    request = _request(debt, people["clerk"])
    write_off_reject(request_id=request.pk, decided_by=people["checker"], note="keep chasing")
    debt.refresh_from_db()
    assert debt.state == DebtState.OPEN and debt.outstanding_amount == Decimal("30.00")
    assert not debt.ledger.filter(kind=LedgerEntryKind.WRITTEN_OFF).exists()


def test_written_off_debt_paid_later_is_reported_total_over_total(people):
    """AE-7.16: the write-off stays on record; the later payment clears the shopper at Amazon."""
    debt = record_shortfall(total="25.00", settled="5.00")
    write_off_approve(request_id=_request(debt, people["clerk"]).pk, approver=people["checker"])

    debt_payoff(
        identity_id=debt.shopper_identity_id,
        currency="USD",
        amount=Decimal("20.00"),
        method=PaymentMethod.PORTAL_STRIPE,
        idempotency_key="late-payer",
        actor="portal",
    )

    debt.refresh_from_db()
    assert debt.state == DebtState.RECOVERED
    assert debt.written_off_amount == 0 and debt.recovered_amount == Decimal("20.00")
    kinds = list(debt.ledger.order_by("pk").values_list("kind", flat=True))
    assert kinds == [
        LedgerEntryKind.INCURRED,
        LedgerEntryKind.WRITTEN_OFF,
        LedgerEntryKind.WRITE_OFF_REINSTATED,
        LedgerEntryKind.RECOVERED,
    ]
    last = PaymentStatusReport.objects.filter(trip=debt.trip).order_by("-sequence").first()
    assert (last.total_amount, last.settled_amount) == (Decimal("25.00"), Decimal("25.00"))
    standing = shopper_standing(identity_id=debt.shopper_identity_id, currency="USD")
    assert standing.blocking_amount == 0 and standing.written_off_amount == 0


def test_no_alert_or_report_is_raised_by_a_request_alone(people):
    debt = record_shortfall(total="30.00")
    _request(debt, people["clerk"])
    assert not Alert.objects.filter(kind__startswith="debt_").exists()
