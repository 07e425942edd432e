"""Write-offs with maker-checker approval.

A user with ``debt.add_writeoffrequest`` asks (amount, reason code); another user approves. Who
may approve depends on the amount: up to the policy's ``write_off_finance_limit`` a holder of
``debt.approve_write_off`` (Finance), above it a holder of ``debt.approve_large_write_off``
(Finance lead; superusers hold every permission). The requester can never decide their own
request (checked here, and refused by a database constraint). An approved write-off appends a
WRITTEN_OFF movement; the debt stays on record, in reports and in the shopper's standing. No
report goes to Amazon (contract §4, §9): the shopper stays blocked there until they pay, and a
later payment is reported as total/total. Its effect on entry at our gate follows the policy's
``written_off_blocks_entry``.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from core.audit import actor_for_user, audit_record
from core.clock import now as business_now
from core.errors import ApplicationError, Conflict, FieldProblem, ValidationFailed
from core.money import round_money

from ..enums import DebtState, LedgerEntryKind, WriteOffReason, WriteOffStatus
from ..locks import debt_qs_for_update
from ..models import WriteOffRequest
from ..transitions import write_off_transition
from .debts import debt_settle_state, ledger_append
from .policy import debt_policy_for
from .standing import standing_recalculate


class NotAllowed(ApplicationError):
    code = "NotAllowed"
    http_status = 403


class MakerCheckerViolation(NotAllowed):
    code = "MakerCheckerViolation"


def write_off_request(
    *, debt_id: int, amount: Decimal | None, reason_code: str, requested_by, note: str = ""
) -> WriteOffRequest:
    """Ask for a write-off of ``amount`` (None: everything outstanding) of one debt."""
    if not requested_by.has_perm("debt.add_writeoffrequest"):
        raise NotAllowed("you may not request write-offs")
    if reason_code not in WriteOffReason.values:
        raise ValidationFailed([FieldProblem("reason_code", "NOT_ALLOWED")])
    if reason_code == WriteOffReason.OTHER and not note.strip():
        raise ValidationFailed([FieldProblem("note", "MISSING")])
    with transaction.atomic():
        debt = debt_qs_for_update().filter(pk=debt_id).first()
        if debt is None:
            raise ValidationFailed([FieldProblem("debt_id", "UNKNOWN")])
        if debt.state != DebtState.OPEN:
            # A disputed debt is decided by its dispute first.
            raise Conflict(f"a {debt.state.lower()} debt cannot be written off")
        amount = debt.outstanding_amount if amount is None else amount
        _check_amount(amount, debt)
        try:
            with transaction.atomic():
                request = WriteOffRequest.objects.create(
                    debt=debt,
                    amount=amount,
                    currency=debt.currency,
                    reason_code=reason_code,
                    note=note[:500],
                    requested_by=requested_by,
                    requested_at=business_now(),
                )
        except IntegrityError:
            raise Conflict("this debt already has a write-off request waiting") from None
        audit_record(
            entity="write_off",
            entity_id=str(request.pk),
            action="requested",
            to_state=WriteOffStatus.PENDING,
            actor=actor_for_user(requested_by),
            reason=reason_code,
            context={"debt": debt.pk, "amount": str(amount), "currency": debt.currency},
        )
    return request


def _check_amount(amount, debt) -> None:
    if not isinstance(amount, Decimal) or amount <= 0:
        raise ValidationFailed([FieldProblem("amount", "OUT_OF_RANGE")])
    if round_money(amount, debt.currency) != amount:
        raise ValidationFailed([FieldProblem("amount", "BAD_FORMAT")])
    if amount > debt.outstanding_amount:
        raise ValidationFailed([FieldProblem("amount", "OUT_OF_RANGE")])


def write_off_may_approve(*, request: WriteOffRequest, user) -> tuple[bool, str]:
    """Whether ``user`` may approve ``request``, and if not, why (shown to staff)."""
    if request.requested_by_id == user.pk:
        return False, "the requester cannot approve their own write-off"
    if not user.has_perm("debt.approve_write_off"):
        return False, "you may not approve write-offs"
    limit = debt_policy_for(currency=request.currency).write_off_finance_limit
    if request.amount > limit and not user.has_perm("debt.approve_large_write_off"):
        return False, f"write-offs above {limit} {request.currency} need a Finance lead"
    return True, ""


def write_off_approve(*, request_id: int, approver, note: str = "") -> WriteOffRequest:
    actor = actor_for_user(approver)
    with transaction.atomic():
        request = WriteOffRequest.objects.select_related("debt").get(pk=request_id)
        if request.requested_by_id == approver.pk:
            raise MakerCheckerViolation("the requester cannot approve their own write-off")
        allowed, why = write_off_may_approve(request=request, user=approver)
        if not allowed:
            raise NotAllowed(why)
        debt = debt_qs_for_update().get(pk=request.debt_id)
        request = write_off_transition(
            request_pk=request.pk,
            to_status=WriteOffStatus.APPROVED,
            actor=actor,
            decided_by=approver,
            decided_at=business_now(),
            decision_note=note[:500],
        )
        if debt.state != DebtState.OPEN:
            raise Conflict(f"the debt is {debt.state.lower()} now")
        amount = min(request.amount, debt.outstanding_amount)
        if amount <= 0:
            raise Conflict("nothing is left to write off")
        ledger_append(
            debt=debt,
            kind=LedgerEntryKind.WRITTEN_OFF,
            amount=-amount,
            actor=actor,
            reason=request.reason_code,
            reference=f"write-off:{request.pk}",
        )
        debt_settle_state(
            debt=debt,
            actor=actor,
            reason=request.reason_code,
            context={"write_off": request.pk, "requested_by": request.requested_by_id},
        )
        standing_recalculate(
            identity_id=debt.shopper_identity_id, currency=debt.currency, actor=actor
        )
    return request


def write_off_reject(*, request_id: int, decided_by, note: str = "") -> WriteOffRequest:
    request = WriteOffRequest.objects.get(pk=request_id)
    if request.requested_by_id == decided_by.pk:
        raise MakerCheckerViolation("the requester cannot decide their own write-off")
    if not decided_by.has_perm("debt.approve_write_off"):
        raise NotAllowed("you may not decide write-offs")
    return write_off_transition(
        request_pk=request_id,
        to_status=WriteOffStatus.REJECTED,
        actor=actor_for_user(decided_by),
        decided_by=decided_by,
        decided_at=business_now(),
        decision_note=note[:500],
    )


def write_off_cancel(*, request_id: int, user) -> WriteOffRequest:
    """The requester withdraws their own pending request."""
    request = WriteOffRequest.objects.get(pk=request_id)
    if request.requested_by_id != user.pk:
        raise NotAllowed("only the requester can withdraw a write-off request")
    return write_off_transition(
        request_pk=request_id, to_status=WriteOffStatus.CANCELLED, actor=actor_for_user(user)
    )
